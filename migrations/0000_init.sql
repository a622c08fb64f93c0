CREATE TABLE `agent_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`owner` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`token_hash` text NOT NULL,
	`token_hint` text NOT NULL,
	`connections` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_by` text,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_tokens_token_hash_unique` ON `agent_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `agent_tokens_name` ON `agent_tokens` (`name`);--> statement-breakpoint
CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`target` text NOT NULL,
	`credential` text,
	`description` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connections_name_unique` ON `connections` (`name`);--> statement-breakpoint
CREATE TABLE `policy_versions` (
	`version` integer PRIMARY KEY NOT NULL,
	`document` text NOT NULL,
	`source` text NOT NULL,
	`format` text NOT NULL,
	`sha256` text NOT NULL,
	`applied_by` text NOT NULL,
	`applied_at` integer NOT NULL,
	`comment` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`protocol` text NOT NULL,
	`connection_name` text NOT NULL,
	`caller_id` text NOT NULL,
	`caller_name` text NOT NULL,
	`caller_via` text NOT NULL,
	`token_id` text,
	`client_ip` text,
	`user_agent` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`status` text NOT NULL,
	`outcome` text DEFAULT 'ok' NOT NULL,
	`commands` integer DEFAULT 0 NOT NULL,
	`allowed` integer DEFAULT 0 NOT NULL,
	`blocked` integer DEFAULT 0 NOT NULL,
	`approvals_required` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`bytes_up` integer DEFAULT 0 NOT NULL,
	`bytes_down` integer DEFAULT 0 NOT NULL,
	`transcript_prefix` text NOT NULL,
	`chunks` integer DEFAULT 0 NOT NULL,
	`last_hash` text,
	`events` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_started_at` ON `sessions` (`started_at`);--> statement-breakpoint
CREATE INDEX `sessions_caller` ON `sessions` (`caller_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `sessions_connection` ON `sessions` (`connection_name`,`started_at`);