-- Operations: the audit export's cursor, and the keysets the export and retention walk.
-- IF NOT EXISTS: safe where another migration generated from the same schema got there first.
CREATE TABLE IF NOT EXISTS `export_cursors` (
	`id` text PRIMARY KEY NOT NULL,
	`position` text NOT NULL,
	`last_batch` text,
	`delivered_at` integer,
	`attempted_at` integer,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `sessions_ended` ON `sessions` (`ended_at`,`id`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `approvals_ended` ON `approvals` (`ended_at`);
