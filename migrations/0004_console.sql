-- The web console's session list: the masked / approved filters, keyset paging on
-- (started_at, id) (which supersedes the single-column index), and the live sessions.
ALTER TABLE `sessions` ADD `masked` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `approved` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
DROP INDEX IF EXISTS `sessions_started_at`;--> statement-breakpoint
CREATE INDEX `sessions_started` ON `sessions` (`started_at`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_open` ON `sessions` (`started_at`,`id`) WHERE `status` = 'open';
