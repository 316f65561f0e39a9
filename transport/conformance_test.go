package transport_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
	"github.com/replikv/replikv/transport/transporttest"
)

// memPipe returns a MakePipe for a fresh MemNetwork built with opts.
func memPipe(opts ...transport.MemOption) transporttest.MakePipe {
	return func(t *testing.T) (net.Listener, transport.Dialer) {
		n := transport.NewMemNetwork(opts...)
		l, err := n.Listen("primary")
		if err != nil {
			t.Fatal(err)
		}
		return l, n.Dialer("primary")
	}
}

func TestMemConformance(t *testing.T) { transporttest.Run(t, memPipe()) }

// An odd, small buffer makes writes wrap and block constantly.
func TestMemSmallBufferConformance(t *testing.T) {
	transporttest.Run(t, memPipe(transport.WithMemBuffer(4093)))
}

func TestTCPConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
		l := listenTCP(t)
		return l, transport.TCP(l.Addr().String())
	})
}

func TestTLSConformance(t *testing.T) {
	server, client := tlsConfigs(t)
	transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
		l := listenTCP(t)
		return transport.TLSListener(l, server), transport.TLS(l.Addr().String(), client)
	})
}

func TestTLSOverMemConformance(t *testing.T) {
	server, client := tlsConfigs(t)
	mem := memPipe()
	transporttest.Run(t, func(t *testing.T) (net.Listener, transport.Dialer) {
		l, d := mem(t)
		return transport.TLSListener(l, server), transport.TLSOver(d, client)
	})
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on loopback: %v", err)
	}
	return l
}

var (
	certOnce sync.Once
	certPEM  tls.Certificate
	certPool *x509.CertPool
	certErr  error
)

// tlsConfigs returns a server config holding a self-signed certificate for
// 127.0.0.1 and "replikv.test", and a client config trusting it.
func tlsConfigs(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	certOnce.Do(func() { certPEM, certPool, certErr = selfSigned() })
	if certErr != nil {
		t.Fatalf("generating a certificate: %v", certErr)
	}
	server = &tls.Config{Certificates: []tls.Certificate{certPEM}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: certPool, ServerName: "replikv.test", MinVersion: tls.VersionTLS12}
	return server, client
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "replikv test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"replikv.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
