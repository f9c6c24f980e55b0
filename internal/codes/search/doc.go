// Package search is codedesk's narrative code search: given free text such
// as "T2DM w/ CKD stage 3" or "heart attack of the front wall" it ranks
// codes from the official code sets and says why each one matched.
//
// The engine is an in-memory inverted index built from plain documents
// ([Doc]): descriptors, inclusion terms and Alphabetic Index paths. It does
// not import the code knowledge base (package codes imports it); the KB
// feeds it one Doc per searchable text and calls [Build] when it loads.
// docs/search.md explains the ranking and why the index is hand-written
// rather than bleve or the database's full-text search (build time, memory
// and the need for ranking rules that know ICD-10-CM's conventions).
//
// Text analysis, shared by documents and queries:
//
//   - lower-casing, accent folding and British spellings (anaemia, oedema);
//   - clinical abbreviations are rewritten (T2DM, CKD, CHF, COPD, HTN, UTI,
//     MI, fx, w/, w/o, …), and in queries lay phrases too ("heart attack",
//     "high blood pressure"; see lexicon.go);
//   - words are reduced to their stem with the Snowball English stemmer,
//     then Latin noun and adjective endings are folded (myocardium,
//     myocardial → myocardi);
//   - in ICD-10-CM texts, words in parentheses or brackets are nonessential
//     modifiers (convention I.A.7), and so are the 7th-character suffix
//     (", initial encounter") and "unspecified": they count when the query
//     has them and cost nothing when it does not (HCPCS parentheses hold
//     brand names and count in full);
//   - "without", "no" and "not" negate the words that follow up to the
//     next preposition or punctuation ("without perforation or abscess"
//     negates both), so "without complications" and "with complications"
//     do not match each other.
//
// Ranking is a weighted F-measure of how much of the query a document
// explains (recall, weighted 2:1) and how much of the document the query
// explains (precision), with inverse document frequency as the word
// weight; an exact descriptor match wins outright. Small preferences
// follow the ICD-10-CM defaults when the query is silent: unspecified
// side, initial encounter, closed and displaced fractures. Ties go to
// billable codes, then descriptors before other fields, then code order.
package search
