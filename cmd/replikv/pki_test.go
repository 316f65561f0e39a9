package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a CA and certificates made for one test, written as PEM files
// in a temporary directory.
type pki struct {
	dir                   string
	caCert                string // the CA's certificate
	serverCert, serverKey string // for 127.0.0.1 and localhost; server and client use
	clientCert, clientKey string // client use only
	otherCA               string // a CA that signed none of these
}

// newPKI generates the CA, a server certificate and a client
// certificate.
func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{dir: dir}
	ca, caKey := makeCA(t, "replikv test CA")
	p.caCert = writePEM(t, dir, "ca.crt", "CERTIFICATE", ca.Raw)
	other, _ := makeCA(t, "another CA")
	p.otherCA = writePEM(t, dir, "other-ca.crt", "CERTIFICATE", other.Raw)
	p.serverCert, p.serverKey = makeLeaf(t, dir, "server", ca, caKey,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	p.clientCert, p.clientKey = makeLeaf(t, dir, "client", ca, caKey, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	return p
}

// serverArgs are the flags that make the binary or redis-server use the
// server certificate and trust the CA.
func (p *pki) serverArgs() []string {
	return []string{"--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey, "--tls-ca-cert-file", p.caCert}
}

// clientTLS returns a client config trusting the CA, with the client
// certificate when withCert.
func (p *pki) clientTLS(t *testing.T, withCert bool) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(p.caCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if withCert {
		pair, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func makeCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
}

// makeLeaf writes a certificate signed by ca and its key (PKCS #8) as
// name.crt and name.key.
func makeLeaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage []x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	cert, key := sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: usage,
	}, ca, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".crt", "CERTIFICATE", cert.Raw), writePEM(t, dir, name+".key", "PRIVATE KEY", keyDER)
}

// sign makes a new key and a certificate for it from tmpl, valid for a
// day, signed by parent (self-signed when parent is nil).
func sign(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	tmpl.SerialNumber, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// writePEM writes der as a PEM block of type typ in dir/name and
// returns the path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
