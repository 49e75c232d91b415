-- Conversion goals for sequences (issue 26.1).
--
-- A sequence (and each of its versions: a running enrolment keeps its version's goals) may name
-- events that end a customer's enrolment as `converted`; the enrolment records the event's id.
ALTER TABLE "sequences" ADD COLUMN "exit_events" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "sequence_versions" ADD COLUMN "exit_events" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "sequence_enrollments" ADD COLUMN "converted_event_id" TEXT;
