CREATE TABLE "rerun_batches" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"workflow_id" integer NOT NULL,
	"idempotency_key" varchar(128) NOT NULL,
	"mode" varchar(16) NOT NULL,
	"execution_ids" integer[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rerun_batches_user_key" UNIQUE("user_id","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "rerun_of" integer;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "accepted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "run_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "last_failure" text;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "last_failure_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "rerun_batches" ADD CONSTRAINT "rerun_batches_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rerun_batches" ADD CONSTRAINT "rerun_batches_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD CONSTRAINT "workflow_executions_rerun_of_workflow_executions_id_fk" FOREIGN KEY ("rerun_of") REFERENCES "public"."workflow_executions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workflow_executions_workflow_updated_idx" ON "workflow_executions" USING btree ("workflow_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "workflow_executions_rerun_of_idx" ON "workflow_executions" USING btree ("rerun_of") WHERE "workflow_executions"."rerun_of" is not null;--> statement-breakpoint
-- Added by hand (drizzle cannot declare triggers): every write of an execution stamps updated_at and
-- NOTIFYs `workflow_executions` with the row's ids, at commit, to every listening api-gateway replica
-- (the live stream), whichever process wrote it (the API, a worker's bookkeeping, a migration).
CREATE FUNCTION "workflow_executions_stamp"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "workflow_executions_stamp" BEFORE INSERT OR UPDATE ON "workflow_executions"
  FOR EACH ROW EXECUTE FUNCTION "workflow_executions_stamp"();--> statement-breakpoint
CREATE FUNCTION "workflow_executions_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('workflow_executions', json_build_object('id', NEW.id, 'workflowId', NEW.workflow_id)::text);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "workflow_executions_notify" AFTER INSERT OR UPDATE ON "workflow_executions"
  FOR EACH ROW EXECUTE FUNCTION "workflow_executions_notify"();
