"""HTTP API (Litestar + msgspec): turns HTTP into kernel calls and kernel events into live feeds."""
