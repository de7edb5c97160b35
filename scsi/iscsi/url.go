package iscsi

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is the iSCSI well-known TCP port.
const DefaultPort = 3260

// maxLUN is the largest LUN this initiator addresses (flat space
// addressing).
const maxLUN = 16383

// URL is a parsed iscsi:// URL in libiscsi's form:
//
//	iscsi://[user[%password]@]host[:port]/target-iqn/lun
//
// The host is a name, an IPv4 address or a bracketed IPv6 address. User and
// Password, when set, are the CHAP credentials.
type URL struct {
	User, Password string
	Host           string // without brackets
	Port           int
	Target         string
	LUN            int
}

// URLError is an iscsi:// URL that does not parse.
type URLError struct {
	URL  string // with any password hidden
	What string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("iscsi: URL %q: %s (want iscsi://[user[%%password]@]host[:port]/target-iqn/lun)", e.URL, e.What)
}

// ParseURL parses an iscsi:// URL strictly: every part must be well formed,
// the target name must start with iqn., eui. or naa., and the LUN must be a
// decimal number from 0 to 16383.
func ParseURL(s string) (URL, error) {
	var u URL
	fail := func(format string, args ...any) (URL, error) {
		return URL{}, &URLError{URL: hidePassword(s), What: fmt.Sprintf(format, args...)}
	}
	rest, ok := strings.CutPrefix(s, "iscsi://")
	if !ok {
		return fail("scheme must be iscsi://")
	}
	authority, path, ok := strings.Cut(rest, "/")
	if !ok {
		return fail("no /target-iqn/lun after the host")
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		u.User, u.Password, _ = strings.Cut(userinfo, "%")
		if u.User == "" {
			return fail("empty user name before @")
		}
		if strings.Contains(userinfo, "%") && u.Password == "" {
			return fail("empty password after %%")
		}
	}
	if authority == "" {
		return fail("empty host")
	}
	host, port, hasPort := authority, "", false
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return fail("unclosed [ in IPv6 host")
		}
		host = authority[1:end]
		after := authority[end+1:]
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return fail("unexpected %q after ]", after)
			}
			port, hasPort = p, true
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return fail("bracketed host %q is not an IPv6 address", host)
		}
	} else {
		if strings.Count(authority, ":") > 1 {
			return fail("IPv6 address must be bracketed")
		}
		host, port, hasPort = strings.Cut(authority, ":")
		if host == "" {
			return fail("empty host")
		}
		if strings.ContainsAny(host, "[]%@ \t") {
			return fail("invalid host %q", host)
		}
	}
	u.Host = host
	u.Port = DefaultPort
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] < '0' || port[0] > '9' {
			return fail("invalid port %q", port)
		}
		u.Port = n
	}
	target, lun, ok := strings.Cut(path, "/")
	if !ok {
		return fail("no /lun after the target name")
	}
	if target == "" {
		return fail("empty target name")
	}
	lower := strings.ToLower(target)
	if !strings.HasPrefix(lower, "iqn.") && !strings.HasPrefix(lower, "eui.") && !strings.HasPrefix(lower, "naa.") {
		return fail("target name %q does not start with iqn., eui. or naa.", target)
	}
	u.Target = target
	if lun == "" {
		return fail("empty LUN")
	}
	for _, c := range lun {
		if c < '0' || c > '9' {
			return fail("LUN %q is not a decimal number", lun)
		}
	}
	n, err := strconv.Atoi(lun)
	if err != nil || n > maxLUN {
		return fail("LUN %q out of range 0-%d", lun, maxLUN)
	}
	u.LUN = n
	return u, nil
}

// Portal is host:port, with brackets around an IPv6 host.
func (u URL) Portal() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// String formats u in libiscsi's form with the password hidden.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString("iscsi://")
	if u.User != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteString("%***")
		}
		b.WriteByte('@')
	}
	fmt.Fprintf(&b, "%s/%s/%d", u.Portal(), u.Target, u.LUN)
	return b.String()
}

// hidePassword masks the password of a URL that may not parse.
func hidePassword(s string) string {
	rest, ok := strings.CutPrefix(s, "iscsi://")
	if !ok {
		return s
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	i := strings.LastIndexByte(authority, '@')
	if i < 0 {
		return s
	}
	user, _, hasPw := strings.Cut(authority[:i], "%")
	if !hasPw {
		return s
	}
	out := "iscsi://" + user + "%***" + authority[i:]
	if hasPath {
		out += "/" + path
	}
	return out
}

// MaskURL is s with the password of an iscsi:// URL replaced by ***, for
// logs, errors and any other output; s need not parse. Any other string is
// returned unchanged.
func MaskURL(s string) string {
	if u, err := ParseURL(s); err == nil {
		return u.String()
	}
	return hidePassword(s)
}
