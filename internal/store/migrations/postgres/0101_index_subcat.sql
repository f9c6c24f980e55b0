-- Alphabetic Index terms can point to an incomplete subcategory (<subcat>,
-- more characters needed) or say "see category" (<seecat>).
ALTER TABLE icd10cm_index_terms ADD COLUMN subcat TEXT NOT NULL DEFAULT '';
ALTER TABLE icd10cm_index_terms ADD COLUMN seecat TEXT NOT NULL DEFAULT '';
