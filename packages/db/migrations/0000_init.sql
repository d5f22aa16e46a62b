CREATE TABLE "credentials" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"service_provider" varchar(50) NOT NULL,
	"credential_type" varchar(50) NOT NULL,
	"name" varchar(255) NOT NULL,
	"access_token" text,
	"refresh_token" text,
	"expires_at" timestamp with time zone,
	"scope" text,
	"client_id" text,
	"client_secret" text,
	"is_valid" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credentials_user_provider_name_key" UNIQUE("user_id","service_provider","name")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"email" varchar(320) NOT NULL,
	"name" varchar(255),
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workflow_executions" (
	"id" serial PRIMARY KEY NOT NULL,
	"workflow_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	"temporal_workflow_id" varchar(255) NOT NULL,
	"temporal_run_id" varchar(255),
	"status" varchar(50) NOT NULL,
	"trigger_data" jsonb,
	"action_result" jsonb,
	"error_message" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "workflows" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"name" varchar(255) NOT NULL,
	"description" text,
	"trigger_provider" varchar(50) NOT NULL,
	"trigger_id" varchar(100) NOT NULL,
	"trigger_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"trigger_credentials_id" integer,
	"action_provider" varchar(50) NOT NULL,
	"action_id" varchar(100) NOT NULL,
	"action_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"action_credentials_id" integer,
	"webhook_id" varchar(64),
	"webhook_secret" text,
	"is_active" boolean DEFAULT false NOT NULL,
	"last_run" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD CONSTRAINT "workflow_executions_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_executions" ADD CONSTRAINT "workflow_executions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_trigger_credentials_id_credentials_id_fk" FOREIGN KEY ("trigger_credentials_id") REFERENCES "public"."credentials"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_action_credentials_id_credentials_id_fk" FOREIGN KEY ("action_credentials_id") REFERENCES "public"."credentials"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_lower_idx" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "workflow_executions_temporal_workflow_id_idx" ON "workflow_executions" USING btree ("temporal_workflow_id");--> statement-breakpoint
CREATE INDEX "workflow_executions_workflow_started_idx" ON "workflow_executions" USING btree ("workflow_id","started_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "workflows_user_id_idx" ON "workflows" USING btree ("user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "workflows_webhook_id_idx" ON "workflows" USING btree ("webhook_id");--> statement-breakpoint
CREATE INDEX "workflows_active_trigger_idx" ON "workflows" USING btree ("trigger_provider","trigger_id") WHERE "workflows"."is_active";