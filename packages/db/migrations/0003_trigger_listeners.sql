CREATE TABLE "trigger_listeners" (
	"credential_id" integer PRIMARY KEY NOT NULL,
	"provider" varchar(50) NOT NULL,
	"account" varchar(320) NOT NULL,
	"cursor" varchar(40),
	"watched_at" timestamp with time zone,
	"watch_expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "trigger_listeners" ADD CONSTRAINT "trigger_listeners_credential_id_credentials_id_fk" FOREIGN KEY ("credential_id") REFERENCES "public"."credentials"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "trigger_listeners_account_idx" ON "trigger_listeners" USING btree ("provider",lower("account"));--> statement-breakpoint
CREATE INDEX "workflows_trigger_credentials_idx" ON "workflows" USING btree ("trigger_credentials_id") WHERE "workflows"."is_active";