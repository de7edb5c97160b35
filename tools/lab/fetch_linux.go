package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// qemuPackages are the Debian packages QEMU comes from (qemu-block-extra
// brings the iSCSI block driver).
const qemuPackages = "qemu-system-x86 qemu-utils qemu-block-extra"

// iscsiBlockModule is the QEMU block driver module for driver=iscsi.
const iscsiBlockModule = "/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so"

// Prepare finds or fetches every part and builds the initramfs when its
// inputs changed.
func Prepare(ctx context.Context, cfg PartsConfig) (*Parts, error) {
	log := logger(cfg.Logger)
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	if cfg.RepoDir == "" {
		cfg.RepoDir = "."
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: cache: %w", err)
	}
	p := &Parts{}
	var err error
	step := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		log.Info("lab: part", "step", name, "took", time.Since(t).Round(time.Millisecond), "err", err)
		return err
	}
	if err = step("qemu", func() error { p.QEMU, err = ensureQEMU(ctx, cfg.Install, log); return err }); err != nil {
		return nil, err
	}
	var root string
	if err = step("kernel", func() error { root, p.KernelPackage, p.Kernel, err = ensureKernel(ctx, cfg.CacheDir, log); return err }); err != nil {
		return nil, err
	}
	var uroot string
	if err = step("u-root", func() error { uroot, err = ensureURoot(ctx, cfg.CacheDir); return err }); err != nil {
		return nil, err
	}
	if cfg.FenceAgents {
		if err = step("fence_scsi tree", func() error { p.FenceRoot, err = ensureFenceRoot(ctx, cfg.CacheDir, log); return err }); err != nil {
			return nil, err
		}
	}
	if err = step("initramfs", func() error {
		p.Initramfs, p.Rebuilt, err = ensureInitramfs(ctx, cfg, uroot, root, p.FenceRoot, log)
		return err
	}); err != nil {
		return nil, err
	}
	return p, nil
}

func runTool(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("lab: %s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(out.String(), 20))
	}
	return out.Bytes(), nil
}

func ensureQEMU(ctx context.Context, install bool, log *slog.Logger) (string, error) {
	have := func() (string, bool) {
		q, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return "", false
		}
		_, err = os.Stat(iscsiBlockModule)
		return q, err == nil
	}
	if q, ok := have(); ok {
		return q, nil
	}
	how := "apt-get install --no-install-recommends " + qemuPackages
	if !install {
		return "", fmt.Errorf("%w: qemu-system-x86_64 with the iSCSI block driver (%s); install it with: %s", ErrMissing, iscsiBlockModule, how)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", fmt.Errorf("%w: QEMU, and no apt-get to install it; on Debian: %s", ErrMissing, how)
	}
	log.Info("lab: installing QEMU", "packages", qemuPackages)
	if _, err := runTool(ctx, "", nil, "apt-get", "update", "-qq"); err != nil {
		return "", err
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, strings.Fields(qemuPackages)...)
	if _, err := runTool(ctx, "", []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", args...); err != nil {
		return "", fmt.Errorf("%w (install by hand: %s)", err, how)
	}
	if q, ok := have(); ok {
		return q, nil
	}
	return "", fmt.Errorf("%w: QEMU still missing after %s", ErrMissing, how)
}

// ensureKernel returns the extracted package root, the package name and the
// vmlinux path.
func ensureKernel(ctx context.Context, cache string, log *slog.Logger) (root, pkg, vmlinux string, err error) {
	how := "needs apt (apt-cache, apt-get download, dpkg-deb) and the Debian package linux-image-amd64 in its sources"
	out, err := runTool(ctx, "", nil, "apt-cache", "depends", "linux-image-amd64")
	if err == nil {
		pkg, err = ParseAptDepends(string(out))
	}
	if err != nil {
		log.Info("lab: apt-cache has no kernel package; running apt-get update")
		if _, uerr := runTool(ctx, "", nil, "apt-get", "update", "-qq"); uerr != nil {
			return "", "", "", fmt.Errorf("%w: kernel: %v; %s", ErrMissing, uerr, how)
		}
		out, err = runTool(ctx, "", nil, "apt-cache", "depends", "linux-image-amd64")
		if err == nil {
			pkg, err = ParseAptDepends(string(out))
		}
		if err != nil {
			return "", "", "", fmt.Errorf("%w: kernel: %v; %s", ErrMissing, err, how)
		}
	}
	root = filepath.Join(cache, "kernel", pkg)
	vmlinux = filepath.Join(root, "vmlinux")
	if _, err := os.Stat(vmlinux); err == nil {
		return root, pkg, vmlinux, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(cache), "kernel-tmp-")
	if err != nil {
		return "", "", "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := runTool(ctx, tmp, nil, "apt-get", "download", pkg); err != nil {
		return "", "", "", fmt.Errorf("%w: kernel package %s: %v", ErrMissing, pkg, err)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", "", "", fmt.Errorf("%w: apt-get download %s left %d .deb files", ErrMissing, pkg, len(debs))
	}
	ext := filepath.Join(tmp, "root")
	if _, err := runTool(ctx, "", nil, "dpkg-deb", "-x", debs[0], ext); err != nil {
		return "", "", "", err
	}
	vmlinuz, _ := filepath.Glob(filepath.Join(ext, "boot", "vmlinuz-*"))
	if len(vmlinuz) != 1 {
		return "", "", "", fmt.Errorf("%w: no vmlinuz in %s", ErrMissing, pkg)
	}
	if err := extractVmlinux(ctx, vmlinuz[0], filepath.Join(ext, "vmlinux")); err != nil {
		return "", "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", "", "", err
	}
	_ = os.RemoveAll(root)
	if err := os.Rename(ext, root); err != nil {
		return "", "", "", fmt.Errorf("lab: kernel cache: %w", err)
	}
	return root, pkg, vmlinux, nil
}

// extractVmlinux decompresses the xz payload of a bzImage into an ELF file.
func extractVmlinux(ctx context.Context, vmlinuz, dst string) error {
	b, err := os.ReadFile(vmlinuz)
	if err != nil {
		return err
	}
	off := FindXZ(b)
	if off < 0 {
		return fmt.Errorf("lab: %s has no xz payload (want a Debian kernel)", vmlinuz)
	}
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(dst + ".tmp")
	cmd := exec.CommandContext(ctx, "xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(b[off:])
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lab: xz -d of %s (Debian package xz-utils): %w: %s", vmlinuz, err, stderr.String())
	}
	f, err := elf.Open(dst + ".tmp")
	if err != nil {
		return fmt.Errorf("lab: decompressed kernel is not ELF: %w", err)
	}
	f.Close()
	return os.Rename(dst+".tmp", dst)
}

func ensureURoot(ctx context.Context, cache string) (string, error) {
	bin := filepath.Join(cache, "bin", "u-root-"+URootVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	gobin := filepath.Join(cache, "bin", "tmp")
	defer os.RemoveAll(gobin)
	if _, err := runTool(ctx, "", []string{"GOBIN=" + gobin, "GOWORK=off", "GOFLAGS=-mod=mod"}, "go", "install", uRootModule+"@"+URootVersion); err != nil {
		return "", fmt.Errorf("%w: u-root (go install %s@%s through the Go module proxy): %v", ErrMissing, uRootModule, URootVersion, err)
	}
	if err := os.Rename(filepath.Join(gobin, "u-root"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// guestPackages are built into /lab/bin: the init and the multi-call binary.
func guestPackages() map[string]string {
	return map[string]string{"init": "./tools/lab/guestinit", "hakit": "./tools/lab/guest"}
}

func ensureInitramfs(ctx context.Context, cfg PartsConfig, uroot, kroot, fenceRoot string, log *slog.Logger) (string, bool, error) {
	stage, err := os.MkdirTemp(cfg.CacheDir, "stage-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(stage)
	h := sha256.New()
	fmt.Fprintf(h, "u-root %s %v\n", URootVersion, URootCommands())
	names := guestPackages()
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		out := filepath.Join(stage, "bin", name)
		if _, err := runTool(ctx, cfg.RepoDir, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, names[name]); err != nil {
			return "", false, err
		}
		if err := hashFile(h, name, out); err != nil {
			return "", false, err
		}
	}
	order, err := stageModules(kroot, filepath.Join(stage, "mods"))
	if err != nil {
		return "", false, err
	}
	for _, m := range order {
		if err := hashFile(h, m, filepath.Join(stage, "mods", m+".ko")); err != nil {
			return "", false, err
		}
	}
	variant := "initramfs-"
	var extra []string
	if fenceRoot != "" {
		variant = "initramfs-fence-"
		tops, err := os.ReadDir(fenceRoot)
		if err != nil {
			return "", false, err
		}
		for _, t := range tops {
			if t.IsDir() {
				extra = append(extra, "-files", filepath.Join(fenceRoot, t.Name())+":"+t.Name())
			}
		}
		if err := hashTree(h, fenceRoot); err != nil {
			return "", false, err
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	dst := filepath.Join(cfg.CacheDir, variant+sum+".cpio")
	if _, err := os.Stat(dst); err == nil {
		return dst, false, nil
	}
	src := filepath.Join(goModCache(ctx), uRootModule+"@"+URootVersion)
	args := []string{"-o", dst + ".tmp", "-uinitcmd=/lab/bin/init",
		"-files", filepath.Join(stage, "bin") + ":lab/bin",
		"-files", filepath.Join(stage, "mods") + ":lab/mods"}
	args = append(args, extra...)
	for _, c := range URootCommands() {
		args = append(args, "./cmds/core/"+c)
	}
	log.Info("lab: building initramfs", "hash", sum)
	if _, err := runTool(ctx, src, []string{"GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}, uroot, args...); err != nil {
		os.Remove(dst + ".tmp")
		return "", false, err
	}
	if err := os.Rename(dst+".tmp", dst); err != nil {
		return "", false, err
	}
	// Keep only the newest initramfs of each variant.
	old, _ := filepath.Glob(filepath.Join(cfg.CacheDir, variant+"*.cpio"))
	for _, o := range old {
		if o != dst && (fenceRoot != "" || !strings.HasPrefix(filepath.Base(o), "initramfs-fence-")) {
			os.Remove(o)
		}
	}
	return dst, true, nil
}

func goModCache(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	if err != nil {
		return filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
	}
	return strings.TrimSpace(string(out))
}

func hashFile(h io.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\n", name)
	_, err = io.Copy(h, f)
	return err
}

// stageModules copies GuestModules and their dependencies from the kernel
// package into dir, with an "order" file listing them in load order.
func stageModules(kroot, dir string) ([]string, error) {
	paths := map[string]string{}
	err := filepath.WalkDir(filepath.Join(kroot, "lib", "modules"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			paths[normModName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: kernel modules: %w", err)
	}
	all := map[string]Module{}
	queue := append([]string(nil), GuestModules()...)
	for len(queue) > 0 {
		name := normModName(queue[0])
		queue = queue[1:]
		if _, ok := all[name]; ok {
			continue
		}
		p, ok := paths[name]
		if !ok {
			continue // ModuleOrder reports it
		}
		m, err := readModinfo(p)
		if err != nil {
			return nil, err
		}
		all[name] = m
		queue = append(queue, m.Depends...)
	}
	order, err := ModuleOrder(all, GuestModules())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, m := range order {
		b, err := os.ReadFile(paths[m])
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, m+".ko"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return order, os.WriteFile(filepath.Join(dir, "order"), []byte(strings.Join(order, "\n")+"\n"), 0o644)
}

func readModinfo(path string) (Module, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Module{}, fmt.Errorf("lab: module %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return Module{}, fmt.Errorf("lab: module %s has no .modinfo", path)
	}
	b, err := s.Data()
	if err != nil {
		return Module{}, fmt.Errorf("lab: module %s: %w", path, err)
	}
	m, err := ParseModinfo(b)
	if err != nil {
		return Module{}, fmt.Errorf("lab: module %s: %w", path, err)
	}
	return m, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// ensureFenceRoot unpacks FenceAgentsPackages into a cached tree (named by
// the package versions apt-cache resolves) and adds the host's copies of
// the shared libraries their ELF files link, as ldd resolves them, under
// usr/lib/x86_64-linux-gnu (the loader under lib64). It returns the tree,
// whose top-level directories go into the initramfs as they are.
func ensureFenceRoot(ctx context.Context, cache string, log *slog.Logger) (string, error) {
	pkgs := FenceAgentsPackages()
	how := "needs apt (apt-get download, dpkg-deb), ldd, and the packages installed on the host for their libraries: apt-get install " + strings.Join(pkgs, " ")
	if _, err := runTool(ctx, "", nil, "dpkg-query", append([]string{"-W"}, pkgs...)...); err != nil {
		return "", fmt.Errorf("%w: fence_scsi guest: %v; %s", ErrMissing, err, how)
	}
	// The archive's versions name the tree (the file names in the URIs).
	uris := append([]string{"download", "--print-uris"}, pkgs...)
	out, err := runTool(ctx, "", nil, "apt-get", uris...)
	if err != nil {
		log.Info("lab: apt-get knows no fence_scsi guest package; running apt-get update")
		if _, uerr := runTool(ctx, "", nil, "apt-get", "update", "-qq"); uerr == nil {
			out, err = runTool(ctx, "", nil, "apt-get", uris...)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: fence_scsi guest: %v; %s", ErrMissing, err, how)
	}
	h := sha256.New()
	h.Write(out)
	root := filepath.Join(cache, "fence", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(root, ".done")); err == nil {
		return root, nil
	}
	tmp, err := os.MkdirTemp(cache, "fence-tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	debs := filepath.Join(tmp, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	if _, err := runTool(ctx, debs, nil, "apt-get", append([]string{"download"}, pkgs...)...); err != nil {
		return "", fmt.Errorf("%w: fence_scsi guest packages: %v; %s", ErrMissing, err, how)
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	if len(files) != len(pkgs) {
		return "", fmt.Errorf("%w: apt-get download left %d .deb files for %d packages", ErrMissing, len(files), len(pkgs))
	}
	ext := filepath.Join(tmp, "root")
	for _, f := range files {
		if _, err := runTool(ctx, "", nil, "dpkg-deb", "-x", f, ext); err != nil {
			return "", err
		}
	}
	for _, p := range fencePrune() {
		if err := os.RemoveAll(filepath.Join(ext, p)); err != nil {
			return "", err
		}
	}
	if err := os.Symlink("python3.11", filepath.Join(ext, "usr", "bin", "python3")); err != nil {
		return "", fmt.Errorf("lab: fence_scsi guest: %w", err)
	}
	var elfs []string
	err = filepath.WalkDir(ext, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if isELF(p) {
			elfs = append(elfs, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("lab: fence_scsi guest: %w", err)
	}
	libDir := filepath.Join(ext, "usr", "lib", "x86_64-linux-gnu")
	if err := os.MkdirAll(libDir, 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(ext, "lib64"), 0o755); err != nil {
		return "", err
	}
	copied := map[string]bool{}
	for _, e := range elfs {
		out, err := runTool(ctx, "", nil, "ldd", e)
		if err != nil {
			// Not a dynamic executable or library (ldd exits 1): nothing to add.
			continue
		}
		libs, missing := ParseLdd(string(out))
		if len(missing) > 0 {
			return "", fmt.Errorf("%w: fence_scsi guest: %s links %v, which the host lacks; %s", ErrMissing, strings.TrimPrefix(e, ext), missing, how)
		}
		for _, l := range libs {
			dst := filepath.Join(libDir, filepath.Base(l))
			if strings.HasPrefix(filepath.Base(l), "ld-linux") {
				dst = filepath.Join(ext, "lib64", filepath.Base(l))
			}
			if copied[dst] {
				continue
			}
			if _, err := os.Lstat(dst); err == nil {
				continue // the package brought it
			}
			b, err := os.ReadFile(l)
			if err != nil {
				return "", fmt.Errorf("lab: fence_scsi guest: %w", err)
			}
			if err := os.WriteFile(dst, b, 0o755); err != nil {
				return "", err
			}
			copied[dst] = true
		}
	}
	log.Info("lab: fence_scsi guest tree", "packages", len(files), "elf", len(elfs), "host_libs", len(copied))
	if err := os.WriteFile(filepath.Join(ext, ".done"), out, 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", err
	}
	_ = os.RemoveAll(root)
	if err := os.Rename(ext, root); err != nil {
		return "", fmt.Errorf("lab: fence_scsi guest cache: %w", err)
	}
	return root, nil
}

func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var m [4]byte
	_, err = io.ReadFull(f, m[:])
	return err == nil && string(m[:]) == "\x7fELF"
}

// hashTree hashes every file's path, mode and content (symbolic links by
// their target) under root.
func hashTree(h io.Writer, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "l %s %s\n", rel, t)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "f %s %o\n", rel, info.Mode().Perm())
			return hashFile(h, rel, p)
		}
		return nil
	})
}
