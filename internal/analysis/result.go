package analysis

// The kinds of question, from docs/design.md.
const (
	KindCodeLookup       = "code_lookup"
	KindDiagnosisCoding  = "diagnosis_coding"
	KindHCPCSCoding      = "hcpcs_coding"
	KindNCCIPairCheck    = "ncci_pair_check"
	KindMUECheck         = "mue_check"
	KindModifierQuestion = "modifier_question"
	KindExcludesConflict = "excludes_conflict"
	KindSeventhCharacter = "seventh_character"
	KindNotAQuestion     = "not_a_question"
	KindOther            = "other"
)

// Roles of a code in an answer.
const (
	RoleAsked      = "asked"      // the question mentioned it
	RoleSuggested  = "suggested"  // codedesk proposes it
	RoleAdditional = "additional" // a companion code a note requires
)

// Result is everything an analysis found: what was asked, the codes with
// their official descriptions, the findings that decide the answer, and what
// is missing. It is stored as JSON with the case and rendered by the reply
// templates; every fact names the code-set release it came from.
type Result struct {
	Kind          string     `json:"kind"`
	Kinds         []string   `json:"kinds,omitempty"`
	Confidence    float64    `json:"confidence"`
	DateOfService string     `json:"date_of_service,omitempty"` // YYYY-MM-DD used for lookups
	Answer        string     `json:"answer"`                    // the one-paragraph answer
	Codes         []Code     `json:"codes"`
	NCCI          []NCCIEdit `json:"ncci"`
	MUE           []MUE      `json:"mue"`
	Findings      []Finding  `json:"findings"`
	Verify        []string   `json:"verify"`     // what to check in the documentation
	Missing       []string   `json:"missing"`    // facts the asker must supply
	Gaps          []string   `json:"gaps"`       // what this desk could not check (code sets not loaded)
	Warnings      []string   `json:"warnings"`   // problems with the question or the data
	References    []string   `json:"references"` // code-set releases used
	IgnoredReason string     `json:"ignored_reason,omitempty"`
	// Facts are what the question states: date of service, setting,
	// payer, units, modifiers, encounter, laterality.
	Facts Facts `json:"facts"`
}

// Code is one row of the answer's codes table.
type Code struct {
	System      string `json:"system"` // icd10cm, pcs, hcpcs, cpt
	Code        string `json:"code"`
	Description string `json:"description"`
	Role        string `json:"role"`
	Notes       string `json:"notes,omitempty"`
	Billable    bool   `json:"billable"`
	Status      string `json:"status,omitempty"`
	Release     string `json:"release,omitempty"`
}

// NCCIEdit is one NCCI procedure-to-procedure edit between two codes.
type NCCIEdit struct {
	Column1           string  `json:"column1"`
	Column2           string  `json:"column2"`
	ModifierIndicator string  `json:"modifier_indicator"` // 0, 1 or 9
	Effective         string  `json:"effective"`          // YYYY-MM-DD
	Deleted           *string `json:"deleted"`            // YYYY-MM-DD or null
	Rationale         string  `json:"rationale,omitempty"`
	Setting           string  `json:"setting,omitempty"` // practitioner or hospital
	Release           string  `json:"release,omitempty"`
}

// MUE is a Medically Unlikely Edit for a code.
type MUE struct {
	Code      string `json:"code"`
	Value     int    `json:"value"`
	MAI       int    `json:"mai"`
	Rationale string `json:"rationale,omitempty"`
	Release   string `json:"release,omitempty"`
}

// Finding is one fact that decides the answer: an edit, an indicator, a
// tabular note or a guideline, with the release it comes from.
type Finding struct {
	Kind    string `json:"kind"` // e.g. ncci, mue, excludes1, use_additional, code_first, seventh_character, not_found
	Summary string `json:"summary"`
	Source  string `json:"source,omitempty"`
}
