-- Hand-written (drizzle cannot declare triggers): trigger-ingest keeps the workflows it routes webhooks to
-- in memory (@autoflow/workflow-cache). Every change of a row that has or had a webhook id NOTIFYs
-- `workflow_hooks` with its old and new ids, at commit, to every listening replica, whichever process
-- wrote it (the API, a cascade from users or credentials, the re-encryption CLI, a migration). Inserts
-- need none: unknown hook ids are never cached. A TRUNCATE asks every replica to drop everything.
CREATE FUNCTION "workflows_notify_hooks"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hooks text[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('workflow_hooks', json_build_object('all', true)::text);
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    hooks := array_remove(ARRAY[OLD.webhook_id]::text[], NULL);
  ELSE
    hooks := array_remove(ARRAY[OLD.webhook_id, NEW.webhook_id]::text[], NULL);
  END IF;
  IF cardinality(hooks) > 0 THEN
    PERFORM pg_notify('workflow_hooks', json_build_object('hooks', hooks)::text);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "workflows_notify_hooks" AFTER UPDATE OR DELETE ON "workflows"
  FOR EACH ROW EXECUTE FUNCTION "workflows_notify_hooks"();--> statement-breakpoint
CREATE TRIGGER "workflows_notify_hooks_truncate" AFTER TRUNCATE ON "workflows"
  FOR EACH STATEMENT EXECUTE FUNCTION "workflows_notify_hooks"();
