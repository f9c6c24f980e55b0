-- Mail delivery (issue #5): a send in doubt, and the reply rate limit.
--
-- smtp_started_at is set just before a reply is handed to the SMTP server
-- and cleared when the outcome is recorded (sent, or a definite failure).
-- A retry that finds it set knows the previous attempt stopped between the
-- server accepting the reply and codedesk recording it, and looks for the
-- desk's copy of the reply before sending again.
ALTER TABLE drafts ADD COLUMN smtp_started_at TIMESTAMP;

-- Replies sent to one address recently (the per-sender rate limit).
CREATE INDEX drafts_sent_to ON drafts (LOWER(to_addr), sent_at);
