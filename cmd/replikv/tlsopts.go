package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/replikv/replikv/server"
)

// tlsOptions are the tls-* directives, as redis-server takes them.
type tlsOptions struct {
	port                                      int
	certFile, keyFile, keyPass                string
	clientCertFile, clientKeyFile, clientPass string
	caFile, caDir                             string
	authClients                               tls.ClientAuthType
	replication                               bool
	minVersion, maxVersion                    uint16 // 0: Go's defaults, TLS 1.2 to 1.3 as Redis's
	ciphers                                   []uint16
}

// defaultTLSOptions are redis-server's defaults: no TLS port, and
// client certificates required once there is one.
func defaultTLSOptions() tlsOptions {
	return tlsOptions{authClients: tls.RequireAndVerifyClientCert}
}

// apply applies one of the tls-* directives listed in directives.
func (t *tlsOptions) apply(d directive) error {
	if d.name == "tls-protocols" || d.name == "tls-ciphers" || d.name == "tls-ciphersuites" {
		// Lists, quoted as one argument in redis.conf; taken unquoted too.
		d.args = []string{strings.Join(d.args, " ")}
	}
	if len(d.args) != 1 {
		return fmt.Errorf("%s takes one argument, got %d", d.name, len(d.args))
	}
	v := d.args[0]
	strs := map[string]*string{
		"tls-cert-file": &t.certFile, "tls-key-file": &t.keyFile, "tls-key-file-pass": &t.keyPass,
		"tls-client-cert-file": &t.clientCertFile, "tls-client-key-file": &t.clientKeyFile,
		"tls-client-key-file-pass": &t.clientPass, "tls-ca-cert-file": &t.caFile, "tls-ca-cert-dir": &t.caDir,
	}
	if p, ok := strs[d.name]; ok {
		*p = v
		return nil
	}
	switch d.name {
	case "tls-port":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("tls-port: invalid value %q", v)
		}
		t.port = n
	case "tls-auth-clients":
		modes := map[string]tls.ClientAuthType{"yes": tls.RequireAndVerifyClientCert,
			"optional": tls.VerifyClientCertIfGiven, "no": tls.NoClientCert}
		m, ok := modes[strings.ToLower(v)]
		if !ok {
			return fmt.Errorf("tls-auth-clients: %q must be one of yes, no, optional", v)
		}
		t.authClients = m
	case "tls-replication":
		b, err := server.ParseYesNo(v)
		if err != nil {
			return fmt.Errorf("tls-replication: %q must be yes or no", v)
		}
		t.replication = b
	case "tls-protocols":
		lo, hi, err := parseProtocols(v)
		if err != nil {
			return err
		}
		t.minVersion, t.maxVersion = lo, hi
	case "tls-ciphers":
		cs, err := parseCiphers(v)
		if err != nil {
			return err
		}
		t.ciphers = cs
	case "tls-ciphersuites":
		return checkCipherSuites(v)
	default:
		return fmt.Errorf("%s: not a TLS directive replikv has", d.name)
	}
	return nil
}

// tlsVersions are the names tls-protocols takes, oldest first.
var tlsVersions = []struct {
	name string
	v    uint16
}{{"tlsv1", tls.VersionTLS10}, {"tlsv1.1", tls.VersionTLS11}, {"tlsv1.2", tls.VersionTLS12}, {"tlsv1.3", tls.VersionTLS13}}

// parseProtocols parses tls-protocols ("TLSv1.2 TLSv1.3"): the versions
// must follow each other, as Go takes a range; "" means the default.
func parseProtocols(v string) (lo, hi uint16, err error) {
	on := make([]bool, len(tlsVersions))
	for _, f := range strings.Fields(v) {
		i := 0
		for i < len(tlsVersions) && !strings.EqualFold(f, tlsVersions[i].name) {
			i++
		}
		if i == len(tlsVersions) {
			return 0, 0, fmt.Errorf("tls-protocols: unknown protocol %q: use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3", f)
		}
		on[i] = true
	}
	first, last := -1, -1
	for i, ok := range on {
		if ok {
			if first < 0 {
				first = i
			} else if last != i-1 {
				return 0, 0, errors.New("tls-protocols: the versions must follow each other (such as \"TLSv1.2 TLSv1.3\"): replikv takes a range")
			}
			last = i
		}
	}
	if first < 0 {
		return 0, 0, nil
	}
	return tlsVersions[first].v, tlsVersions[last].v, nil
}

// check reports what is missing for the TLS asked, in redis-server's
// terms: a certificate once TLS is used at all, and CA certificates
// once peers' certificates are verified.
func (t *tlsOptions) check() error {
	if t.port == 0 && !t.replication {
		return nil
	}
	if t.certFile == "" || t.keyFile == "" {
		return errors.New("tls-cert-file and tls-key-file are needed with tls-port or tls-replication")
	}
	if (t.clientCertFile == "") != (t.clientKeyFile == "") {
		return errors.New("tls-client-cert-file and tls-client-key-file go together")
	}
	needCA := t.replication || (t.port != 0 && t.authClients != tls.NoClientCert)
	if needCA && t.caFile == "" && t.caDir == "" {
		return errors.New("tls-ca-cert-file or tls-ca-cert-dir is needed with tls-replication or tls-auth-clients yes|optional (the default)")
	}
	return nil
}
