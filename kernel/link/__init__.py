"""Node roles over a broker (issue 13): an edge's pipeline and a console's governed core,
joined by the :class:`kernel.protocols.link.NodeLink` seam. ``docs/scale-out.md`` says how."""
