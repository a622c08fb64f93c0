CREATE TABLE `approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`command_seq` integer NOT NULL,
	`connection_name` text NOT NULL,
	`requester_id` text NOT NULL,
	`requester_name` text NOT NULL,
	`summary` text NOT NULL,
	`command_hash` text NOT NULL,
	`rule` text,
	`reason` text NOT NULL,
	`approvers` text NOT NULL,
	`state` text NOT NULL,
	`requested_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_by` text,
	`decided_via` text,
	`ended_at` integer,
	`consumed_at` integer
);
--> statement-breakpoint
CREATE INDEX `approvals_state` ON `approvals` (`state`,`requested_at`);--> statement-breakpoint
CREATE INDEX `approvals_session` ON `approvals` (`session_id`);