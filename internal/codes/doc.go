// Package codes is codedesk's code knowledge base: the official code sets
// (ICD-10-CM, ICD-10-PCS, HCPCS Level II, CPT numbers and licensed CPT
// descriptors, NCCI procedure-to-procedure edits and MUEs) imported from
// their published files into the database, versioned by release, and served
// from an immutable in-memory snapshot (KB) for lookups and edit checks at a
// date of service.
//
// Import streams each file into the database in one transaction per file
// (a release part); re-importing an unchanged file does nothing. Load builds
// a KB from what is imported; a KB is safe for concurrent use and is rebuilt
// after imports.
package codes
