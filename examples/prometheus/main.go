// Command prometheus exports a replikv Store's Stats as Prometheus
// metrics: a prometheus.Collector that reads Store.Stats on every scrape,
// served at /metrics.
//
//	go run . -addr 127.0.0.1:9121                        # an empty primary
//	go run . -replicaof 127.0.0.1:6379 -addr :9121       # a replica of a Redis or replikv primary
//
// It is a module of its own so that the replikv module keeps its few
// dependencies; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/replikv/replikv"
	"github.com/replikv/replikv/transport"
)

// metric is one time series computed from a Stats.
type metric struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	labels []string // values of desc's variable labels
	value  func(*replikv.Stats) int64
}

// Collector is a prometheus.Collector of a Store's Stats. It keeps no
// state: every Collect reads Store.Stats once (which visits the shards
// under their read locks, one at a time, without stopping the world).
type Collector struct {
	s       *replikv.Store
	metrics []metric
	role    *prometheus.Desc
}

// roles are the values of the replikv_role gauge's role label.
var roles = []replikv.Role{replikv.RolePrimary, replikv.RoleReplica, replikv.RoleFailingOver, replikv.RoleClosed}

// NewCollector returns a Collector of s's Stats, its metric names
// starting with "replikv_" and carrying constLabels (nil for none; for
// example {"instance_name": …} when a process holds several stores).
func NewCollector(s *replikv.Store, constLabels prometheus.Labels) *Collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("replikv_"+name, help, labels, constLabels)
	}
	counter := prometheus.CounterValue
	gauge := prometheus.GaugeValue
	reads := desc("reads_total", "Reads by Get, AppendGet, View and Exists, by whether they found a live key.", "result")
	syncs := desc("syncs_received_total", "Resynchronisations received from primaries as a replica, by kind.", "kind")
	served := desc("syncs_served_total", "Resynchronisations served to replicas as a primary, by kind (a refused partial one is then served as a full one).", "kind")
	link := desc("link_transitions_total", "Times the link of this replica to its primary came up or went down.", "to")
	return &Collector{
		s:    s,
		role: desc("role", "1 for the store's current replication role, 0 for the others.", "role"),
		metrics: []metric{
			{reads, counter, []string{"hit"}, func(st *replikv.Stats) int64 { return st.Hits }},
			{reads, counter, []string{"miss"}, func(st *replikv.Stats) int64 { return st.Misses }},
			{desc("sets_total", "Keys written, through the API or applied from a primary."), counter, nil, func(st *replikv.Stats) int64 { return st.Sets }},
			{desc("expired_keys_total", "Keys this store deleted because their deadline passed."), counter, nil, func(st *replikv.Stats) int64 { return st.Expired }},
			{desc("keys", "Keys held, counting expired keys not deleted yet (DBSIZE)."), gauge, nil, func(st *replikv.Stats) int64 { return int64(st.Keys) }},
			{desc("keys_with_deadline", "Keys held that have a deadline."), gauge, nil, func(st *replikv.Stats) int64 { return int64(st.Expires) }},
			{desc("data_bytes", "Bytes of the keys and values held, without per-key overhead."), gauge, nil, func(st *replikv.Stats) int64 { return st.BytesUsed }},
			{link, counter, []string{"up"}, func(st *replikv.Stats) int64 { return st.LinkUps }},
			{link, counter, []string{"down"}, func(st *replikv.Stats) int64 { return st.LinkDowns }},
			{syncs, counter, []string{"full"}, func(st *replikv.Stats) int64 { return st.FullSyncs }},
			{syncs, counter, []string{"partial"}, func(st *replikv.Stats) int64 { return st.PartialSyncs }},
			{served, counter, []string{"full"}, func(st *replikv.Stats) int64 { return st.FullSyncsServed }},
			{served, counter, []string{"partial"}, func(st *replikv.Stats) int64 { return st.PartialSyncsServed }},
			{desc("partial_syncs_refused_total", "Partial resynchronisations this primary refused (the replica's offset was not in its backlog or its history was another)."), counter, nil, func(st *replikv.Stats) int64 { return st.PartialSyncsRefused }},
		},
	}
}

// Describe sends the descriptors of every metric the Collector makes.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, m := range c.metrics {
		if !seen[m.desc] {
			seen[m.desc] = true
			ch <- m.desc
		}
	}
	ch <- c.role
}

// Collect reads the store's Stats once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, float64(m.value(&st)), m.labels...)
	}
	for _, r := range roles {
		v := 0.0
		if st.Role == r {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.role, prometheus.GaugeValue, v, r.String())
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9121", "address to serve /metrics on")
	replicaOf := flag.String("replicaof", "", "host:port of a primary (replikv or Redis) to follow; empty: run a primary")
	flag.Parse()
	if err := run(*addr, *replicaOf); err != nil {
		log.Fatal(err)
	}
}

func run(addr, replicaOf string) error {
	s, err := replikv.New(replikv.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	if replicaOf != "" {
		if err := s.ReplicaOf(transport.TCP(replicaOf)); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(s, nil), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("serving metrics at http://%s/metrics", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
