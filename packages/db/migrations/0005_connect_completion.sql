ALTER TABLE "oauth_states" ADD COLUMN "code" text;--> statement-breakpoint
ALTER TABLE "oauth_states" ADD COLUMN "handle_hash" varchar(64);--> statement-breakpoint
CREATE INDEX "oauth_states_expires_at_idx" ON "oauth_states" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "oauth_states" ADD CONSTRAINT "oauth_states_handle_hash_unique" UNIQUE("handle_hash");