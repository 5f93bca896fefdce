package lbservice_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"hadron.dev/hadron/lab/internal/controlplane/cptest"
	"hadron.dev/hadron/lab/internal/lbservice"
)

// TestMain lets the test binary stand in for hadron-lab (cptest.Main).
func TestMain(m *testing.M) { cptest.Main(m) }

// The test's site, away from the lab's and the other tests' addresses: its control
// plane and the range its Services get addresses from.
const (
	siteIP = "127.0.206.1"
	prefix = "127.0.206."
	lbIP   = "127.0.206.10"
	ns     = "lbtest"
)

func TestLoadBalancerServices(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := cptest.Start(t, "lbsvc", siteIP, dir)
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	// The "pod" behind the Services. The API refuses loopback endpoint addresses, so it
	// listens on the host's own address, as the lab's real-node pods are reachable on
	// theirs; on ports of the kernel's choosing, since that address is shared.
	backendIP := hostIP(t)
	tcpPort := tcpEcho(t, backendIP+":0")
	udpPort := udpEcho(t, backendIP+":0")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lb, err := lbservice.Start(ctx, lbservice.Config{Site: "lbsvc", Client: cs, Prefix: prefix,
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Close)

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createService(ctx, t, cs, "web", lbIP,
		corev1.ServicePort{Name: "tcp", Port: 7001, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(7001)},
		corev1.ServicePort{Name: "udp", Port: 7002, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(7002)})
	// No endpointslice controller acts on a Service without a selector: the slice is
	// the test's, as it would be for an external backend.
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{backendIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)}}},
		Ports: []discoveryv1.EndpointPort{
			{Name: ptrTo("tcp"), Port: ptrTo(tcpPort), Protocol: ptrTo(corev1.ProtocolTCP)},
			{Name: ptrTo("udp"), Port: ptrTo(udpPort), Protocol: ptrTo(corev1.ProtocolUDP)},
		},
	}
	if slice, err = cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	waitIngress(ctx, t, cs, "web", lbIP)
	eventually(t, "TCP round trip through "+lbIP, func() error { return tcpRoundTrip(lbIP+":7001", "hello tcp\n") })
	eventually(t, "UDP round trip through "+lbIP, func() error { return udpRoundTrip(lbIP+":7002", "hello udp") })
	if got := lb.Addresses()[ns+"/web"]; got != lbIP {
		t.Errorf("Addresses()[web] = %q, want %s", got, lbIP)
	}

	// A connection made while the endpoint is ready, to be cut when the Service goes.
	held, err := net.DialTimeout("tcp", lbIP+":7001", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := exchange(held, "held\n"); err != nil {
		t.Fatalf("held connection: %v", err)
	}

	createService(ctx, t, cs, "auto", "", corev1.ServicePort{Name: "tcp", Port: 7003, Protocol: corev1.ProtocolTCP})
	waitIngress(ctx, t, cs, "auto", prefix+"200")
	autoAddr := prefix + "200"
	eventually(t, "auto listening on 7003", func() error { return dialable(autoAddr + ":7003") })
	updateService(ctx, t, cs, "auto", func(s *corev1.Service) { s.Spec.Ports[0].Port = 7005 })
	eventually(t, "auto moved from 7003 to 7005", func() error {
		if err := refused(autoAddr + ":7003"); err != nil {
			return err
		}
		return dialable(autoAddr + ":7005")
	})

	createService(ctx, t, cs, "far", "10.1.2.3", corev1.ServicePort{Name: "tcp", Port: 7004, Protocol: corev1.ProtocolTCP})
	eventually(t, "Warning Event AddressNotAllowed on far", func() error {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=far"})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == lbservice.ReasonAddressNotAllowed && e.Type == corev1.EventTypeWarning && e.InvolvedObject.Kind == "Service" {
				return nil
			}
		}
		return fmt.Errorf("%d events, none AddressNotAllowed", len(evs.Items))
	})
	if a, ok := lb.Addresses()[ns+"/far"]; ok {
		t.Errorf("far is served at %s", a)
	}
	if far, err := cs.CoreV1().Services(ns).Get(ctx, "far", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if ing := far.Status.LoadBalancer.Ingress; len(ing) != 0 {
		t.Errorf("far has ingress %v", ing)
	}

	slice.Endpoints[0].Conditions.Ready = ptrTo(false)
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new connection closed without data while no endpoint is ready", func() error {
		c, err := net.DialTimeout("tcp", lbIP+":7001", 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("anyone?\n")) // may fail once the proxy has closed
		n, err := c.Read(make([]byte, 64))
		if n == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return nil
		}
		return fmt.Errorf("read %d bytes, err %v", n, err)
	})

	if err := cs.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "listener on "+lbIP+":7001 gone", func() error { return refused(lbIP + ":7001") })
	held.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := held.Read(make([]byte, 64)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("held connection still open after the Service's deletion: read %d bytes, err %v", n, err)
	}
	if _, ok := lb.Addresses()[ns+"/web"]; ok {
		t.Error("web still has an address after its deletion")
	}

	updateService(ctx, t, cs, "auto", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.Ports[0].NodePort = 0
		s.Spec.AllocateLoadBalancerNodePorts = nil
		s.Spec.ExternalTrafficPolicy = ""
	})
	eventually(t, "auto no longer served once a ClusterIP Service", func() error { return refused(autoAddr + ":7005") })
	waitIngress(ctx, t, cs, "auto", "")
	if a, ok := lb.Addresses()[ns+"/auto"]; ok {
		t.Errorf("auto still holds %s", a)
	}
}

func updateService(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string, change func(*corev1.Service)) {
	t.Helper()
	svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	change(svc)
	if _, err := cs.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// dialable reports whether something accepts TCP connections on addr.
func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// refused reports whether addr refuses TCP connections: nothing listens there.
func refused(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if err == nil {
		c.Close()
	}
	return fmt.Errorf("dial %s: %v, want connection refused", addr, err)
}

func createService(ctx context.Context, t *testing.T, cs kubernetes.Interface, name, ip string, ports ...corev1.ServicePort) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerIP: ip, Ports: ports}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitIngress waits until the Service's status.loadBalancer.ingress is want alone, or
// empty for want "".
func waitIngress(ctx context.Context, t *testing.T, cs kubernetes.Interface, name, want string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s's ingress %s", name, want), func() error {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ing := svc.Status.LoadBalancer.Ingress
		switch {
		case want == "" && len(ing) == 0, want != "" && len(ing) == 1 && ing[0].IP == want:
			return nil
		}
		return fmt.Errorf("ingress %v", ing)
	})
}

// eventually retries f until it succeeds, failing the test with f's last error after a
// minute.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tcpRoundTrip sends msg, half-closes and expects msg back, then the backend's close.
func tcpRoundTrip(addr, msg string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("got %q, want %q", got, msg)
	}
	return nil
}

// exchange sends msg on c and expects it back.
func exchange(c net.Conn, msg string) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("got %q, want %q", got, msg)
	}
	return nil
}

func udpRoundTrip(addr, msg string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, 1024)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.Equal(buf[:n], []byte(msg)) {
		return fmt.Errorf("got %q, want %q", buf[:n], msg)
	}
	return nil
}

// hostIP returns an IPv4 address of the host that the API accepts in an EndpointSlice
// (not loopback, not link-local).
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host for the backend's endpoint")
	return ""
}

// tcpEcho serves an echo on addr until the test ends and returns its port; it
// half-closes after the client's EOF, which the proxy must pass both ways.
func tcpEcho(t *testing.T, addr string) int32 {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// udpEcho serves an echo on addr until the test ends and returns its port.
func udpEcho(t *testing.T, addr string) int32 {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return int32(pc.LocalAddr().(*net.UDPAddr).Port)
}

func ptrTo[T any](v T) *T { return &v }
