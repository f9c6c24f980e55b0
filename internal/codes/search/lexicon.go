package search

import (
	"sort"
	"strings"
)

// The lexicon rewrites clinical abbreviations and everyday phrases into the
// words the code sets use. Entries are general clinical usage (standard
// abbreviation lists, consumer health vocabulary), not answers to particular
// queries; ambiguous abbreviations (CA, MS, PT, PAD, ALS, HA, CP, AF, IV, IM)
// are left out on purpose.
//
// abbreviations apply to documents and queries alike (HCPCS descriptors use
// w/, w/o, BLS, …), so a rewrite never makes a descriptor unfindable by its
// own words.
var abbreviations = map[string]string{
	// Diabetes and kidneys.
	"t2dm": "type 2 diabetes mellitus", "dm2": "type 2 diabetes mellitus",
	"t2d": "type 2 diabetes mellitus", "niddm": "type 2 diabetes mellitus",
	"dmii": "type 2 diabetes mellitus", "dm ii": "type 2 diabetes mellitus",
	"t1dm": "type 1 diabetes mellitus", "dm1": "type 1 diabetes mellitus",
	"t1d": "type 1 diabetes mellitus", "iddm": "type 1 diabetes mellitus",
	"dm": "diabetes mellitus", "type ii": "type 2", "type i": "type 1",
	"ckd": "chronic kidney disease", "esrd": "end stage renal disease",
	"eskd": "end stage kidney disease", "aki": "acute kidney failure",
	"arf": "acute kidney failure",
	// Heart and vessels.
	"chf": "congestive heart failure", "hf": "heart failure",
	"hfref": "systolic heart failure", "hfpef": "diastolic heart failure",
	"htn": "hypertension", "mi": "myocardial infarction", "ami": "acute myocardial infarction",
	"stemi": "st elevation myocardial infarction", "nstemi": "non st elevation myocardial infarction",
	"cad": "coronary artery disease", "ashd": "atherosclerotic heart disease",
	"afib": "atrial fibrillation", "a fib": "atrial fibrillation", "aflutter": "atrial flutter",
	"a flutter": "atrial flutter", "svt": "supraventricular tachycardia",
	"dvt": "deep vein thrombosis", "pe": "pulmonary embolism", "pvd": "peripheral vascular disease",
	"cva": "cerebral infarction", "tia": "transient ischemic attack", "aaa": "abdominal aortic aneurysm",
	"cabg": "coronary artery bypass graft", "ekg": "electrocardiogram", "ecg": "electrocardiogram",
	// Lungs, infections.
	"copd": "chronic obstructive pulmonary disease", "aecopd": "acute exacerbation chronic obstructive pulmonary disease",
	"uri": "upper respiratory infection", "uti": "urinary tract infection",
	"osa": "obstructive sleep apnea", "sob": "shortness of breath", "doe": "dyspnea on exertion",
	"tb": "tuberculosis", "rsv": "respiratory syncytial virus", "hcv": "hepatitis c", "hbv": "hepatitis b",
	"mrsa": "methicillin resistant staphylococcus aureus", "mssa": "methicillin susceptible staphylococcus aureus",
	"e coli": "escherichia coli", "ecoli": "escherichia coli", "h pylori": "helicobacter pylori",
	"c diff": "clostridium difficile", "cdiff": "clostridium difficile", "c difficile": "clostridium difficile",
	"hsv": "herpes simplex", "hpv": "papillomavirus", "staph": "staphylococcus", "strep": "streptococcus", "covid": "covid 19", "covid 19": "covid 19",
	"covid19": "covid 19",
	// Digestive, urinary, musculoskeletal.
	"gerd": "gastro esophageal reflux disease", "ibs": "irritable bowel syndrome",
	"uc": "ulcerative colitis", "abd": "abdominal",
	"bph": "benign prostatic hyperplasia", "oa": "osteoarthritis", "ra": "rheumatoid arthritis",
	"djd": "osteoarthritis", "fx": "fracture", "fxs": "fractures",
	"tka": "total knee arthroplasty", "tha": "total hip arthroplasty",
	// Mental health.
	"adhd": "attention deficit hyperactivity disorder",
	"ptsd": "post traumatic stress disorder", "ocd": "obsessive compulsive disorder",
	"mdd": "major depressive disorder", "gad": "generalized anxiety disorder",
	"etoh": "alcohol",
	// History, sides, routes, services.
	"hx": "history", "fhx": "family history", "pmh": "personal history", "sx": "symptoms",
	"lt": "left", "rt": "right", "bilat": "bilateral",
	"lle": "left lower limb", "rle": "right lower limb", "lue": "left upper limb", "rue": "right upper limb",
	"subq": "subcutaneous", "sq": "subcutaneous",
	"inj": "injection", "bmi": "body mass index", "mva": "motor vehicle accident",
	"loc": "loss of consciousness", "bls": "basic life support", "dme": "durable medical equipment",
	"lap": "laparoscopic", "lab": "laboratory", "nos": "", "nec": "",
	"not elsewhere classified": "", "not otherwise specified": "", "icd 10": "", "icd 10 cm": "",
	"icd 10 pcs": "", "uncomplicated": "without complications",
}

// layTerms apply to queries only: descriptors use these words literally
// ("accidental cut"), so the query keeps its own words as nonessential ones
// beside the rewrite.
var layTerms = map[string]string{
	"heart attack": "myocardial infarction", "high blood pressure": "hypertension",
	"elevated blood pressure": "hypertension", "low blood pressure": "hypotension",
	"high blood sugar": "hyperglycemia", "low blood sugar": "hypoglycemia",
	"high cholesterol": "hypercholesterolemia", "mini stroke": "transient ischemic attack",
	"blood clot": "thrombosis", "blood clots": "thrombosis", "broken": "fracture",
	"break": "fracture", "fractured": "fracture", "torn": "tear", "bruise": "contusion",
	"bruised": "contusion", "cut": "laceration", "flu": "influenza", "pink eye": "conjunctivitis",
	"strep throat": "streptococcal pharyngitis", "sore throat": "pharyngitis",
	"stomach flu": "gastroenteritis", "belly": "abdominal", "tummy": "abdominal",
	"acid reflux":  "gastro esophageal reflux disease",
	"kidney stone": "calculus of kidney", "kidney stones": "calculus of kidney",
	"gallstone": "calculus of gallbladder", "gallstones": "calculus of gallbladder",
	"bladder infection": "cystitis", "yeast infection": "candidiasis", "shingles": "zoster",
	"cold sore": "herpesviral vesicular dermatitis", "cold sores": "herpesviral vesicular dermatitis",
	"hay fever": "allergic rhinitis", "bed sore": "pressure ulcer", "bed sores": "pressure ulcer",
	"bedsore": "pressure ulcer", "pressure sore": "pressure ulcer", "piles": "hemorrhoids",
	"nosebleed": "epistaxis", "nose bleed": "epistaxis", "ringing in the ears": "tinnitus",
	"fainting": "syncope", "fainted": "syncope", "passed out": "syncope", "dizzy": "dizziness",
	"short of breath": "shortness of breath", "hives": "urticaria", "nearsighted": "myopia",
	"farsighted": "hypermetropia", "lazy eye": "amblyopia", "crossed eyes": "strabismus",
	"underactive thyroid": "hypothyroidism", "overactive thyroid": "hyperthyroidism",
	"sugar diabetes": "diabetes mellitus", "hardening of the arteries": "atherosclerosis",
	"water pill": "diuretic", "blood thinner": "anticoagulant", "blood thinners": "anticoagulants",
	"c section": "cesarean", "collarbone": "clavicle",
	"shin bone": "tibia", "thigh bone": "femur", "kneecap": "patella", "tailbone": "coccyx",
	"breastbone": "sternum", "bedwetting": "enuresis", "wetting the bed": "enuresis",
	"womb": "uterus", "voice box": "larynx", "windpipe": "trachea", "first visit": "initial encounter",
	"initial visit": "initial encounter", "follow up": "subsequent encounter",
	"followup": "subsequent encounter", "late effect": "sequela", "late effects": "sequela",
	"throwing up": "vomiting", "threw up": "vomiting", "vomit": "vomiting",
	"peeing": "urination", "pee": "urine", "urinating": "urination", "poop": "feces",
	"tiredness": "fatigue", "tired": "fatigue", "itchy": "pruritus", "itching": "pruritus",
	"swelling": "edema", "swollen": "edema", "bleeding": "hemorrhage",
}

// synonyms are single words that the code sets and people use for the same
// thing. A query word matches a document with any word of its group; the
// group counts once.
var synonyms = [][]string{
	{"kidney", "renal", "nephric"},
	{"lung", "pulmonary"},
	{"heart", "cardiac"},
	{"liver", "hepatic"},
	{"stomach", "gastric"},
	{"skin", "cutaneous"},
	{"brain", "cerebral"},
	{"breast", "mammary"},
	{"front", "anterior"},
	{"hemorrhage", "bleeding"},
	{"tear", "rupture"},
	{"uterus", "uterine"},
	{"bone", "osseous"},
	{"eye", "ocular"},
	{"ear", "otic"},
	{"vein", "venous"},
	{"artery", "arterial"},
	{"bowel", "intestine", "intestinal"},
	{"newborn", "neonatal", "neonate", "perinatal"},
	{"pregnancy", "pregnant", "gestational"},
	{"shot", "injection", "vaccine"},
}

// lexEntry is one rewrite: the words it matches and what replaces them.
type lexEntry struct {
	from []string
	to   []string
}

// abbrevByFirst and layByFirst index the rewrites by their first word,
// longest first.
var (
	abbrevByFirst = indexLexicon(abbreviations)
	layByFirst    = indexLexicon(layTerms)
)

func indexLexicon(lex map[string]string) map[string][]lexEntry {
	m := map[string][]lexEntry{}
	for from, to := range lex {
		f := strings.Fields(from)
		m[f[0]] = append(m[f[0]], lexEntry{from: f, to: strings.Fields(to)})
	}
	for _, es := range m {
		sort.Slice(es, func(i, j int) bool {
			if len(es[i].from) != len(es[j].from) {
				return len(es[i].from) > len(es[j].from)
			}
			return strings.Join(es[i].from, " ") < strings.Join(es[j].from, " ")
		})
	}
	return m
}

// synonymStems maps a stem to the stems of its group (itself included).
var synonymStems = func() map[string][]string {
	m := map[string][]string{}
	for _, g := range synonyms {
		var stems []string
		for _, w := range g {
			s := stemWord(w)
			if !contains(stems, s) {
				stems = append(stems, s)
			}
		}
		for _, s := range stems {
			for _, t := range stems {
				if !contains(m[s], t) {
					m[s] = append(m[s], t)
				}
			}
		}
	}
	return m
}()

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// slashAbbrev are abbreviations written with a slash, as one word.
var slashAbbrev = map[string]string{
	"w/o": "without", "w/": "with", "s/p": "status post", "h/o": "history of",
	"c/o": "complains of", "n/v": "nausea vomiting", "b/l": "bilateral", "f/u": "follow up",
	"y/o": "year old", "r/o": "", "and/or": "and or",
}

// rewrite applies the lexicon to a word sequence and joins the prefix "non"
// to the word after it ("non-displaced", "non displaced" → "nondisplaced").
// A rewrite does not cross punctuation. For a query, lay terms are
// rewritten too and their own words kept as nonessential (orig) words.
func (a *analyzer) rewrite(ws []rawWord, query bool) []rawWord {
	out := a.rw[:0]
	defer func() { a.rw = out[:0] }()
	for i := 0; i < len(ws); {
		w := ws[i]
		if w.w == "non" && i+1 < len(ws) && !ws[i+1].brk && isAlpha(ws[i+1].w) {
			nw := "non" + ws[i+1].w
			out = append(out, rawWord{w: nw, cls: wordClass[nw], paren: w.paren, brk: w.brk})
			i += 2
			continue
		}
		if w.cls&(wcAbbrevFirst|wcLayFirst) == 0 {
			out = append(out, w)
			i++
			continue
		}
		e, ok := longestMatch(abbrevByFirst, ws, i)
		lay := false
		if query {
			if le, lok := longestMatch(layByFirst, ws, i); lok && (!ok || len(le.from) > len(e.from)) {
				e, ok, lay = le, true, true
			}
		}
		if !ok {
			out = append(out, w)
			i++
			continue
		}
		for k, t := range e.to {
			out = append(out, rawWord{w: t, cls: wordClass[t], paren: w.paren, brk: w.brk && k == 0})
		}
		if lay {
			for k := range e.from {
				o := ws[i+k]
				o.orig, o.brk = true, o.brk && k == 0 && len(e.to) == 0
				out = append(out, o)
			}
		}
		if len(e.to) == 0 && i+len(e.from) < len(ws) && w.brk {
			// Keep the punctuation break of a dropped phrase.
			ws[i+len(e.from)].brk = true
		}
		i += len(e.from)
	}
	return out
}

// longestMatch returns the longest lexicon entry that matches at ws[i].
func longestMatch(lex map[string][]lexEntry, ws []rawWord, i int) (lexEntry, bool) {
	for _, e := range lex[ws[i].w] {
		if matchAt(ws, i, e.from) {
			return e, true
		}
	}
	return lexEntry{}, false
}

func matchAt(ws []rawWord, i int, from []string) bool {
	if i+len(from) > len(ws) {
		return false
	}
	for k, f := range from {
		if ws[i+k].w != f || (k > 0 && ws[i+k].brk) {
			return false
		}
	}
	return true
}
