"""The PostgreSQL schema as an ordered list of migrations, the same tables and rules as
:mod:`adapters.store.sqlite_migrations`.

Table ``schema_version`` (one row) holds how many migrations have been applied and marks a
schema as Pinchpoint's; a migration is appended, never edited, once released. Each runs in one
transaction with its version bump, under an advisory lock, so two processes starting together
apply it once.

The rules live in the database, as on SQLite, a second line behind the domain:

- R3: an alert needs an entry of its own deployment (composite foreign key).
- R5: only a confirmed watch-list alert fills the outbox (trigger ``outbox_confirmed_only``,
  which also copies the notice's fields from the alert, so a direct ``INSERT`` cannot put
  anything else in a notice).
- R19: the audit log is append-only (no ``UPDATE``, ``DELETE`` or ``TRUNCATE``) and each new row
  links to the last: ``seq`` is the last seq + 1 and ``prev_hash`` the last row's hash. The
  hash itself is computed by the domain in Python (:func:`kernel.domain.audit.row_hash`) and
  stored as given, the same bytes as on SQLite: ``pinchpoint audit verify`` works on both.
- R16/R17: a deployment's rows go with it (``ON DELETE CASCADE``, the repository deletes them
  child first to count them); the disposal records are append-only too and outlive it.

The trigger functions keep the store's schema as their ``search_path`` (``SET search_path
FROM CURRENT``): they hold for a session of another program too, whatever its path.
Times are ``timestamptz`` (microseconds, as Python's ``datetime``), JSON is sorted-key text.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the governed core, accounts, push subscriptions, photo gate (SQLite's 1-3 in one)
    """
    CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        authorising_officer TEXT NOT NULL,
        location TEXT NOT NULL,
        starts_at TIMESTAMPTZ NOT NULL,
        ends_at TIMESTAMPTZ NOT NULL,
        objectives TEXT NOT NULL,
        case_reference TEXT NOT NULL,
        command_team TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('draft','authorised','live','ended','closed')),
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        watchlist_version INTEGER NOT NULL DEFAULT 0,
        match_threshold DOUBLE PRECISION,
        live_at TIMESTAMPTZ,
        ended_at TIMESTAMPTZ
    );

    CREATE TABLE transitions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX transitions_deployment ON transitions(deployment_id);

    CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        nonce BYTEA NOT NULL,
        ciphertext BYTEA NOT NULL
    );
    CREATE INDEX blobs_deployment ON blobs(deployment_id);

    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        list TEXT NOT NULL CHECK (list IN ('watch','blue')),
        category TEXT NOT NULL,
        marking TEXT NOT NULL,
        details_blob TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (id, deployment_id)
    );
    CREATE INDEX entries_deployment ON entries(deployment_id);

    CREATE TABLE photos (
        key BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        entry_id TEXT NOT NULL,
        deployment_id TEXT NOT NULL,
        photo_blob TEXT NOT NULL,
        template_blob TEXT,
        model_id TEXT NOT NULL,
        quality TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        gate TEXT NOT NULL DEFAULT '{}',
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE CASCADE
    );
    CREATE INDEX photos_entry ON photos(entry_id);
    CREATE INDEX photos_deployment ON photos(deployment_id);

    CREATE TABLE reviews (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        reviewer TEXT NOT NULL,
        reviewed_at TIMESTAMPTZ NOT NULL,
        watchlist_version INTEGER NOT NULL,
        entries INTEGER NOT NULL
    );
    CREATE INDEX reviews_deployment ON reviews(deployment_id);

    CREATE TABLE blue_walks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE CASCADE
    );
    CREATE INDEX blue_walks_deployment ON blue_walks(deployment_id);

    -- The composite foreign key is the R3 guarantee: no alert row (and so no stored face)
    -- without an entry of the same deployment's watch or blue list.
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        deployment_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        list TEXT NOT NULL CHECK (list IN ('watch','blue')),
        category TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        captured_at TIMESTAMPTZ NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('candidate','confirmed','rejected','test')),
        face_blob TEXT NOT NULL,
        torso_blob TEXT NOT NULL,
        decided_by TEXT,
        decided_at TIMESTAMPTZ,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN ('not_stopped',
            'stopped_identity_confirmed','stopped_not_the_person','arrested','other_action')),
        outcome_by TEXT,
        outcome_at TIMESTAMPTZ,
        hold BOOLEAN NOT NULL DEFAULT FALSE,
        hold_by TEXT,
        hold_at TIMESTAMPTZ,
        released_by TEXT,
        released_at TIMESTAMPTZ,
        FOREIGN KEY (entry_id, deployment_id) REFERENCES entries(id, deployment_id)
            ON DELETE RESTRICT,
        CHECK (list = 'watch' OR state = 'test')
    );
    CREATE INDEX alerts_state ON alerts(deployment_id, state);
    -- the officers' list across deployments (in_states with no deployment)
    CREATE INDEX alerts_list_state ON alerts(list, state, created_at, id);

    CREATE TABLE outbox (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        deployment_id TEXT NOT NULL,
        category TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        confirmed_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX outbox_deployment ON outbox(deployment_id);

    -- R5, second line of defence: the domain checks too, this makes a slip impossible. The
    -- notice's fields come from the alert, whatever the INSERT said.
    CREATE FUNCTION outbox_confirmed_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    DECLARE a RECORD;
    BEGIN
        SELECT deployment_id, category, camera_id INTO a FROM alerts
         WHERE id = NEW.alert_id AND state = 'confirmed' AND list = 'watch';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'outbox accepts confirmed watch-list alerts only (R5)'
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.deployment_id := a.deployment_id;
        NEW.category := a.category;
        NEW.camera_id := a.camera_id;
        RETURN NEW;
    END $$;
    CREATE TRIGGER outbox_confirmed_only BEFORE INSERT ON outbox
        FOR EACH ROW EXECUTE FUNCTION outbox_confirmed_only();
    -- a notice is what was confirmed: it is never rewritten (deleted only with its alert)
    CREATE FUNCTION outbox_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'an outbox notice is never changed (R5)'
            USING ERRCODE = 'check_violation';
    END $$;
    CREATE TRIGGER outbox_unchanged BEFORE UPDATE ON outbox
        FOR EACH ROW EXECUTE FUNCTION outbox_unchanged();

    CREATE TABLE sink_positions (
        sink_name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
    );

    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY CHECK (seq > 0),
        at TIMESTAMPTZ NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subjects TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );

    -- R19: a new row continues the chain; the audit table is written by INSERT only.
    CREATE FUNCTION audit_chain_link() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    DECLARE last RECORD;
    BEGIN
        SELECT seq, hash INTO last FROM audit ORDER BY seq DESC LIMIT 1;
        IF FOUND AND (NEW.seq <> last.seq + 1 OR NEW.prev_hash <> last.hash) THEN
            RAISE EXCEPTION 'audit row % does not continue the chain (last %) (R19)',
                NEW.seq, last.seq USING ERRCODE = 'check_violation';
        END IF;
        IF NOT FOUND AND NEW.seq <> 1 THEN
            RAISE EXCEPTION 'the first audit row must be seq 1, not % (R19)', NEW.seq
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER audit_chain_link BEFORE INSERT ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_chain_link();

    CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused (R17, R19)', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$;
    -- per statement: even one that would touch no row is refused
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION append_only();

    CREATE TABLE disposals (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        deployment_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 0),
        rule TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE TRIGGER disposals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON disposals
        FOR EACH STATEMENT EXECUTE FUNCTION append_only();

    CREATE TABLE face_counts (
        deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        camera_id TEXT NOT NULL,
        minute TIMESTAMPTZ NOT NULL,
        seen INTEGER NOT NULL,
        matched INTEGER NOT NULL,
        PRIMARY KEY (deployment_id, camera_id, minute)
    );

    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('officer','operator','technical','commander','admin')),
        password_hash TEXT NOT NULL,
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT NOT NULL,
        password_changed_at TIMESTAMPTZ NOT NULL
    );

    -- id is the SHA-256 of the cookie token: the database never holds a usable cookie
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_name);

    CREATE TABLE login_failures (
        name TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at TIMESTAMPTZ NOT NULL,
        locked_until TIMESTAMPTZ
    );

    CREATE TABLE push_subscriptions (
        endpoint TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        device TEXT NOT NULL,
        deployment_id TEXT,
        created_at TIMESTAMPTZ NOT NULL
    );
    """,
    # 2: officers' enrolled devices (issue 14; SQLite's 4)
    """
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        label TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        enrolled_by TEXT NOT NULL,
        enrolled_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        app_version TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT '' CHECK (delivery IN ('','mqtt','feed')),
        revoked_at TIMESTAMPTZ,
        revoked_by TEXT
    );

    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        label TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        issued_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );

    ALTER TABLE sessions ADD COLUMN device_id TEXT REFERENCES devices(id) ON DELETE CASCADE;
    CREATE INDEX sessions_device ON sessions(device_id);
    ALTER TABLE push_subscriptions ADD COLUMN device_id TEXT
        REFERENCES devices(id) ON DELETE CASCADE;
    """,
    # 3: a blue-list walk-past's window and camera (R21; SQLite's 5)
    """
    ALTER TABLE blue_walks ADD COLUMN until TIMESTAMPTZ;
    ALTER TABLE blue_walks ADD COLUMN camera_id TEXT;
    """,
    # 4 (SQLite's 6): devices' receipts for confirmed alerts (issue 14): delivered (by which path),
    # opened, responding; one per alert, device and kind, gone with the alert. A device
    # takes one live deployment's alerts at a time (receipts only for those).
    """
    CREATE TABLE receipts (
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('delivered','opened','responding')),
        path TEXT NOT NULL CHECK (path IN ('mqtt','webpush','feed')),
        user_name TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (alert_id, device_id, kind)
    );
    CREATE INDEX receipts_device ON receipts(device_id);
    ALTER TABLE devices ADD COLUMN deployment_id TEXT;
    """,
    # 5: episodes (issue 15; SQLite's 7)
    """
    ALTER TABLE alerts ADD COLUMN episode_id TEXT;
    ALTER TABLE alerts ADD COLUMN seen_again BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX alerts_entry ON alerts(deployment_id, entry_id, captured_at);
    """,
    # 6 (SQLite's 8): the keys of the edges' face-counts messages already added (issue 13)
    """
    CREATE TABLE face_count_keys (
        key TEXT PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX face_count_keys_at ON face_count_keys(at);
    """,
    # 7 (SQLite's 9): the console that runs a deployment (issue 13)
    """
    ALTER TABLE deployments ADD COLUMN console TEXT;
    """,
    # 8 (SQLite's 10): each edge's last report as a console read it (issue 13)
    """
    CREATE TABLE edges (
        node_id TEXT PRIMARY KEY,
        console TEXT NOT NULL,
        cameras TEXT NOT NULL,
        deployments TEXT NOT NULL,
        reported_at TIMESTAMPTZ NOT NULL
    );
    """,
]
