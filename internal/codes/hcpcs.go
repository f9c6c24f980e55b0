package codes

import (
	"encoding/json"
	"fmt"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// HCPCSInfo is what the HCPCS Level II file says about a code or modifier
// beyond its descriptors: pricing, coverage and the dates of its life.
type HCPCSInfo struct {
	Pricing         []string `json:"pricing,omitempty"`
	MultiPricing    string   `json:"multi_pricing,omitempty"`
	CoverageManual  []string `json:"cim,omitempty"`
	CarriersManual  []string `json:"mcm,omitempty"`
	Statute         string   `json:"statute,omitempty"`
	LabCert         []string `json:"lab_cert,omitempty"`
	CrossRef        []string `json:"xref,omitempty"`
	Coverage        string   `json:"coverage,omitempty"`
	ASCGroup        string   `json:"asc_group,omitempty"`
	ASCDate         int      `json:"asc_date,omitempty"`
	MOGGroup        string   `json:"mog_group,omitempty"`
	MOGPolicy       string   `json:"mog_policy,omitempty"`
	MOGDate         int      `json:"mog_date,omitempty"`
	ProcessingNote  string   `json:"proc_note,omitempty"`
	BETOS           string   `json:"betos,omitempty"`
	TypeOfService   []string `json:"tos,omitempty"`
	AnesthesiaUnits int      `json:"anes_units,omitempty"`
	Added           int      `json:"added,omitempty"`
	ActionEffective int      `json:"action_effective,omitempty"`
	Terminated      int      `json:"terminated,omitempty"`
	Action          string   `json:"action,omitempty"`
}

// CoverageText explains the coverage code (HCPCS record layout field 16).
func (h *HCPCSInfo) CoverageText() string {
	switch h.Coverage {
	case "C":
		return "carrier judgment"
	case "D":
		return "special coverage instructions apply"
	case "I":
		return "not payable by Medicare"
	case "M":
		return "non-covered by Medicare"
	case "S":
		return "non-covered by Medicare statute"
	}
	return ""
}

// ActionText explains the action code (HCPCS record layout field 30).
func (h *HCPCSInfo) ActionText() string {
	switch h.Action {
	case "A":
		return "added"
	case "B":
		return "change in both administrative data and long description"
	case "C":
		return "change in long description"
	case "D":
		return "discontinued"
	case "F":
		return "change in administrative data and long description"
	case "N":
		return "no change"
	case "P":
		return "payment change"
	case "R":
		return "re-instated"
	case "S":
		return "change in short description"
	case "T":
		return "miscellaneous change"
	}
	return ""
}

func encodeHCPCSAttrs(h codefile.HCPCSRecord) (string, error) {
	info := HCPCSInfo{
		Pricing: h.Pricing, MultiPricing: h.MultiPricing, CoverageManual: h.CoverageManual,
		CarriersManual: h.CarriersManual, Statute: h.Statute, LabCert: h.LabCert, CrossRef: h.CrossRef,
		Coverage: h.Coverage, ASCGroup: h.ASCGroup, ASCDate: h.ASCDate, MOGGroup: h.MOGGroup,
		MOGPolicy: h.MOGPolicy, MOGDate: h.MOGDate, ProcessingNote: h.ProcessingNote, BETOS: h.BETOS,
		TypeOfService: h.TypeOfService, AnesthesiaUnits: h.AnesthesiaUnits, Added: h.Added,
		ActionEffective: h.ActionEffective, Terminated: h.Terminated, Action: h.Action,
	}
	b, err := json.Marshal(info)
	if err != nil {
		return "", fmt.Errorf("encoding HCPCS fields of %s: %w", h.Code, err)
	}
	return string(b), nil
}
