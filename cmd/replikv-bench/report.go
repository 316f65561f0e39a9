package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// report is the run's outcome, as written to bench.json.
type report struct {
	Mode    string  `json:"mode"`
	Runs    int     `json:"runs"`
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
	Machine string  `json:"machine"`
	Redis   string  `json:"redis"`
	// LoadBefore and LoadAfter are the machine's 1-minute load average
	// at the start and the end: figures taken on a machine busy with
	// other work are not worth comparing.
	LoadBefore float64       `json:"load_before"`
	LoadAfter  float64       `json:"load_after"`
	Scenarios  []scenarioOut `json:"scenarios"`
}

// scenarioOut is one scenario's figures.
type scenarioOut struct {
	ID      string      `json:"id"`
	Title   string      `json:"title"`
	Error   string      `json:"error,omitempty"`
	Metrics []metricOut `json:"metrics"`
}

// metricOut is one row: the medians, their ratio, the target and whether
// replikv meets it, and every run's figure.
type metricOut struct {
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Replikv *float64  `json:"replikv"`
	Redis   *float64  `json:"redis"`
	Ratio   *float64  `json:"ratio"`
	Target  string    `json:"target,omitempty"`
	Pass    *bool     `json:"pass,omitempty"`
	RunsRK  []float64 `json:"replikv_runs,omitempty"`
	RunsRD  []float64 `json:"redis_runs,omitempty"`
}

// add puts a scenario's result in the report.
func (rep *report) add(r *result) {
	so := scenarioOut{ID: r.sc.id, Title: r.sc.title}
	if r.err != nil {
		so.Error = r.err.Error()
	}
	for _, m := range r.sc.metrics {
		mo := metricOut{Name: m.name, Unit: m.unit, Target: m.target}
		rk, rks, okK := median(r.replikv, m.key)
		rd, rds, okD := math.NaN(), []float64(nil), false
		if m.redisKey != "-" {
			k := m.redisKey
			if k == "" {
				k = m.key
			}
			rd, rds, okD = median(r.redis, k)
		}
		if okK {
			mo.Replikv, mo.RunsRK = num(rk), rks
		}
		if okD {
			mo.Redis, mo.RunsRD = num(rd), rds
		}
		if okK && okD && rd != 0 && !m.noRatio {
			mo.Ratio = num(rk / rd)
		}
		if m.pass != nil && okK && (okD || m.redisKey == "-" || !strings.Contains(m.target, "Redis")) {
			p := m.pass(rk, rd)
			mo.Pass = &p
		}
		so.Metrics = append(so.Metrics, mo)
	}
	rep.Scenarios = append(rep.Scenarios, so)
}

func num(f float64) *float64 { return &f }

// cell formats a figure with a precision that suits its size.
func cell(f *float64) string {
	if f == nil {
		return "—"
	}
	v := *f
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func ratioCell(f *float64) string {
	if f == nil {
		return "—"
	}
	if math.Abs(*f) < 0.1 {
		return strconv.FormatFloat(*f, 'g', 2, 64) + "×"
	}
	return strconv.FormatFloat(*f, 'f', 2, 64) + "×"
}

func passCell(m metricOut) string {
	switch {
	case m.Target == "":
		return ""
	case m.Pass == nil:
		return m.Target
	case *m.Pass:
		return m.Target + " ✓"
	default:
		return m.Target + " ✗"
	}
}

// rows returns the table's rows, a header first.
func (rep *report) rows() [][]string {
	rows := [][]string{{"scenario", "figure", "unit", "replikv", "Redis", "ratio", "target"}}
	for _, s := range rep.Scenarios {
		if s.Error != "" {
			rows = append(rows, []string{s.ID, "FAILED: " + s.Error, "", "", "", "", ""})
		}
		for _, m := range s.Metrics {
			rows = append(rows, []string{s.ID, m.Name, m.Unit, cell(m.Replikv), cell(m.Redis), ratioCell(m.Ratio), passCell(m)})
		}
	}
	return rows
}

// header describes the run.
func (rep *report) header() string {
	h := fmt.Sprintf("replikv-bench, %s mode, median of %d run(s), %.0f s; %s; %s; load average %.1f before, %.1f after",
		rep.Mode, rep.Runs, rep.Seconds, rep.Machine, rep.Redis, rep.LoadBefore, rep.LoadAfter)
	if max(rep.LoadBefore, rep.LoadAfter) > float64(runtime.NumCPU()) {
		h += " (WARNING: the machine was busy with other work; these figures are not worth comparing)"
	}
	return h
}

// writeTable prints the table as aligned text.
func (rep *report) writeTable(w io.Writer) {
	fmt.Fprintln(w, rep.header())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rep.rows() {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// markdown renders the table as Markdown, with each scenario's title.
func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", rep.header())
	for _, s := range rep.Scenarios {
		fmt.Fprintf(&b, "- **%s** %s\n", s.ID, s.Title)
	}
	b.WriteString("\n")
	for i, r := range rep.rows() {
		for j := range r {
			r[j] = strings.ReplaceAll(r[j], "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
		if i == 0 {
			b.WriteString("|---|---|---|--:|--:|--:|---|\n")
		}
	}
	return b.String()
}

// save writes bench.md and bench.json into dir.
func (rep *report) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.md"), []byte(rep.markdown()), 0o644)
}
