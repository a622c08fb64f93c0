-- Containment: subjects (agent:, user:, token:, connection:) whose traffic is refused until
-- unlocked. Read by every session opener in its one D1 batch, so the table stays small.
CREATE TABLE `locks` (
	`subject` text PRIMARY KEY NOT NULL,
	`reason` text DEFAULT '' NOT NULL,
	`locked_by` text NOT NULL,
	`locked_at` integer NOT NULL
);
