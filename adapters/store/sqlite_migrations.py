"""The SQLite schema as an ordered list of migrations.

``PRAGMA user_version`` holds how many have been applied; a migration is appended, never edited,
once released. Each runs in one transaction together with its ``user_version`` bump.
"""

from __future__ import annotations

APPLICATION_ID = 0x50504E54  # "PPNT": marks a file as Pinchpoint's (PRAGMA application_id)

MIGRATIONS: list[str] = [
    # 1: the governed core
    f"""
    PRAGMA application_id = {APPLICATION_ID};

    CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        authorising_officer TEXT NOT NULL,
        location TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        objectives TEXT NOT NULL,
        case_reference TEXT NOT NULL,
        command_team TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('draft','authorised','live','ended','closed')),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        watchlist_version INTEGER NOT NULL DEFAULT 0,
        match_threshold REAL,
        live_at TEXT,
        ended_at TEXT
    );

    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
    );

    CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL
    );
    CREATE INDEX blobs_deployment ON blobs(deployment_id);

    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        list TEXT NOT NULL CHECK (list IN ('watch','blue')),
        category TEXT NOT NULL,
        marking TEXT NOT NULL,
        details_blob TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (id, deployment_id)
    );
    CREATE INDEX entries_deployment ON entries(deployment_id);

    CREATE TABLE photos (
        key INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id TEXT NOT NULL,
        deployment_id TEXT NOT NULL,
        photo_blob TEXT NOT NULL,
        template_blob TEXT,
        model_id TEXT NOT NULL,
        quality TEXT NOT NULL,
        created_at TEXT NOT NULL,
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE CASCADE
    );
    CREATE INDEX photos_entry ON photos(entry_id);

    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        reviewer TEXT NOT NULL,
        reviewed_at TEXT NOT NULL,
        watchlist_version INTEGER NOT NULL,
        entries INTEGER NOT NULL
    );

    CREATE TABLE blue_walks (
        id INTEGER PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        at TEXT NOT NULL,
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE CASCADE
    );

    -- The composite foreign key is the R3 guarantee: no alert row (and so no stored face)
    -- without an entry of the same deployment's watch or blue list.
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        list TEXT NOT NULL CHECK (list IN ('watch','blue')),
        category TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        score REAL NOT NULL,
        captured_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('candidate','confirmed','rejected','test')),
        face_blob TEXT NOT NULL,
        torso_blob TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('not_stopped',
            'stopped_identity_confirmed','stopped_not_the_person','arrested','other_action')),
        outcome_by TEXT,
        outcome_at TEXT,
        hold INTEGER NOT NULL DEFAULT 0,
        hold_by TEXT,
        hold_at TEXT,
        released_by TEXT,
        released_at TEXT,
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE RESTRICT,
        CHECK (list = 'watch' OR state = 'test')
    );
    CREATE INDEX alerts_deployment ON alerts(deployment_id);

    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        deployment_id TEXT NOT NULL,
        category TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        confirmed_at TEXT NOT NULL
    );

    -- R5, second line of defence: the domain checks too, this makes a slip impossible.
    CREATE TRIGGER outbox_confirmed_only BEFORE INSERT ON outbox
    WHEN NOT EXISTS (SELECT 1 FROM alerts WHERE id = NEW.alert_id
                     AND state = 'confirmed' AND list = 'watch')
    BEGIN
        SELECT RAISE(ABORT, 'outbox accepts confirmed watch-list alerts only (R5)');
    END;

    CREATE TABLE sink_positions (
        sink_name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );

    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subjects TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );

    CREATE TABLE disposals (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        deployment_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        count INTEGER NOT NULL,
        rule TEXT NOT NULL,
        actor TEXT NOT NULL
    );

    CREATE TABLE face_counts (
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        camera_id TEXT NOT NULL,
        minute TEXT NOT NULL,
        seen INTEGER NOT NULL,
        matched INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, camera_id, minute)
    );
    """,
    # 2: accounts of the HTTP API (R23), Web Push subscriptions (R6), the officers' list (R5)
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('officer','operator','technical','commander','admin')),
        password_hash TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    );

    -- id is the SHA-256 of the cookie token: the database never holds a usable cookie
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_name);

    CREATE TABLE login_failures (
        name TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at TEXT NOT NULL,
        locked_until TEXT
    );

    CREATE TABLE push_subscriptions (
        endpoint TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        device TEXT NOT NULL,
        deployment_id TEXT,
        created_at TEXT NOT NULL
    );

    CREATE INDEX alerts_state ON alerts(deployment_id, state);
    """,
    # 3: how each enrolled photo passed the enrolment gate, and an accepted soft refusal's
    # recorded reason (R10, R19); photos enrolled before passed directly
    """
    ALTER TABLE photos ADD COLUMN gate TEXT NOT NULL DEFAULT '{}';
    """,
    # 4: officers' enrolled devices (issue 14): one-time enrolment codes (hashed), devices,
    # and the sessions and push subscriptions that belong to one
    """
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        label TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        enrolled_by TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        app_version TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT '' CHECK (delivery IN ('','mqtt','feed')),
        revoked_at TEXT,
        revoked_by TEXT
    );

    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        label TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );

    ALTER TABLE sessions ADD COLUMN device_id TEXT REFERENCES devices(id) ON DELETE CASCADE;
    CREATE INDEX sessions_device ON sessions(device_id);
    ALTER TABLE push_subscriptions ADD COLUMN device_id TEXT
        REFERENCES devices(id) ON DELETE CASCADE;
    """,
    # 5: a blue-list walk-past's window and camera (R21): "walking past camera N now" is
    # scored over [at, until] on that camera; a walk declared before had only ``at``
    # (scored as at ± BLUE_WINDOW_S on any camera)
    """
    ALTER TABLE blue_walks ADD COLUMN until TEXT;
    ALTER TABLE blue_walks ADD COLUMN camera_id TEXT;
    """,
    # 6: devices' receipts for confirmed alerts (issue 14): delivered (by which path),
    # opened, responding; one per alert, device and kind, gone with the alert. A device
    # takes one live deployment's alerts at a time (receipts only for those).
    """
    CREATE TABLE receipts (
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('delivered','opened','responding')),
        path TEXT NOT NULL CHECK (path IN ('mqtt','webpush','feed')),
        user_name TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (alert_id, device_id, kind)
    );
    CREATE INDEX receipts_device ON receipts(device_id);
    ALTER TABLE devices ADD COLUMN deployment_id TEXT;
    """,
    # 7: episodes (issue 15): repeated sightings of one watch-list entry join one episode,
    # named by its first sighting's id; a later sighting is an update of its alert
    """
    ALTER TABLE alerts ADD COLUMN episode_id TEXT;
    ALTER TABLE alerts ADD COLUMN seen_again INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX alerts_entry ON alerts(deployment_id, entry_id, captured_at);
    """,
    # 8: the keys of the edges' face-counts messages already added (issue 13), so that one
    # redelivered after a console died between its commit and its acknowledgement is not
    # counted twice; random ids and a time, nothing of a face
    """
    CREATE TABLE face_count_keys (
        key TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    CREATE INDEX face_count_keys_at ON face_count_keys(at);
    """,
    # 9: the console that runs a deployment (issue 13): its ``[node] id``, so that each
    # console publishes only its own deployments' watch lists to its edges; NULL (made on a
    # single box, or before this): every console publishes it
    """
    ALTER TABLE deployments ADD COLUMN console TEXT;
    """,
    # 10: each edge's last report as a console read it (issue 13): its cameras and the
    # deployments whose list it held (JSON arrays of ids), so that every console sharing the
    # store shows every console's edges in the force-wide view; ids and a time only
    """
    CREATE TABLE edges (
        node_id TEXT PRIMARY KEY,
        console TEXT NOT NULL,
        cameras TEXT NOT NULL,
        deployments TEXT NOT NULL,
        reported_at TEXT NOT NULL
    );
    """,
]
