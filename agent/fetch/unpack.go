package fetch

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Unpack extracts a .tar.gz into dest, which must exist and be empty. It refuses entries that would land outside
// dest (absolute, `..`), links that point outside it, writes through a link, and devices; on error dest may hold
// part of the archive and the caller removes it.
func Unpack(reader io.Reader, dest string) error {
	gz, err := gzip.NewReader(reader)
	if err != nil {
		return verifyErr("the archive is not gzip: %v", err)
	}
	archive := tar.NewReader(gz)
	for {
		header, err := archive.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return verifyErr("the archive is damaged: %v", err)
		}
		name, err := insideName(header.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		if err := noLinkOnTheWay(dest, name); err != nil {
			return err
		}
		switch header.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return installErr("unpacking %s: %v", name, diskHint(err))
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return installErr("unpacking %s: %v", name, diskHint(err))
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(header.Mode)&0o755|0o600)
			if err != nil {
				return installErr("unpacking %s: %v", name, diskHint(err))
			}
			_, err = io.Copy(out, archive)
			if closeErr := out.Close(); err == nil {
				err = closeErr
			}
			if err != nil {
				return installErr("unpacking %s: %v", name, diskHint(err))
			}
		case tar.TypeSymlink:
			// A link stays inside: relative, and resolved from its own folder it does not climb out of dest.
			if path.IsAbs(header.Linkname) || strings.HasPrefix(path.Join(path.Dir(name), header.Linkname), "../") || path.Join(path.Dir(name), header.Linkname) == ".." {
				return verifyErr("the archive's link %s -> %s points outside its folder: refused", header.Name, header.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return installErr("unpacking %s: %v", name, diskHint(err))
			}
			if err := os.Symlink(header.Linkname, target); err != nil {
				return installErr("unpacking %s: %v", name, err)
			}
		case tar.TypeLink:
			linked, err := insideName(header.Linkname)
			if err != nil {
				return err
			}
			if err := noLinkOnTheWay(dest, linked); err != nil {
				return err
			}
			if err := os.Link(filepath.Join(dest, filepath.FromSlash(linked)), target); err != nil {
				return installErr("unpacking %s: %v", name, err)
			}
		case tar.TypeXGlobalHeader:
		default:
			return verifyErr("the archive's entry %s is of type %q, which a program folder has no use for: refused", header.Name, header.Typeflag)
		}
	}
}

// insideName cleans an entry name and refuses one that leaves the folder.
func insideName(name string) (string, error) {
	clean := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || filepath.VolumeName(name) != "" {
		return "", verifyErr("the archive's entry %q escapes its folder: refused", name)
	}
	return clean, nil
}

// noLinkOnTheWay refuses to write below a symlink the archive made (that could lead outside dest).
func noLinkOnTheWay(dest, name string) error {
	parts := strings.Split(name, "/")
	current := dest
	for _, part := range parts[:len(parts)-1] {
		current = filepath.Join(current, part)
		info, err := os.Lstat(current)
		if err != nil {
			return nil
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return verifyErr("the archive's entry %q goes through a link: refused", name)
		}
	}
	return nil
}
