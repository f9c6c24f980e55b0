// Package codefile reads the official code-set files in the formats their
// publishers release them: the ICD-10-CM and ICD-10-PCS order, codes and
// addenda files (CMS/CDC), the ICD-10-CM Tabular List and Alphabetic Index
// XML (CDC/NCHS), the HCPCS Level II fixed-width file (CMS), the NCCI
// procedure-to-procedure edit and MUE tables (CMS), and a CPT descriptor file
// supplied by a licensed user.
//
// Every reader streams: it calls a function once per record and keeps only
// the record at hand (HCPCS keeps one code's continuation lines). Malformed
// input stops the read with a *ParseError naming the file, line and field.
// The layouts are documented next to each reader, from the publishers'
// record layouts (see ../shared/data/PROVENANCE.md).
package codefile
