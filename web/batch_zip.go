package web

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// zip spools the body to a temporary file (a zip keeps its directory at the
// end, so it cannot be read as a stream) within the zip limit, then adds
// each entry as one image named by its path inside the zip.
func (u *batchUploader) zip(body io.Reader) error {
	f, err := os.CreateTemp("", "dermq-batch-*.zip")
	if err != nil {
		return apiError(fiber.StatusInternalServerError, "no_space",
			"The zip could not be received: "+err.Error())
	}
	defer os.Remove(f.Name())
	defer f.Close()

	n, err := io.Copy(f, &limitReader{r: body, left: u.s.cfg.MaxBatchZipBytes})
	if errors.Is(err, errTooLarge) {
		return apiError(fiber.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("The zip is larger than the %s limit.",
				formatBytes(u.s.cfg.MaxBatchZipBytes)))
	}
	if err != nil {
		return u.s.formError(err)
	}

	zr, err := zip.NewReader(f, n)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return apiError(fiber.StatusBadRequest, "bad_zip", "The zip could not be read: "+
			err.Error())
	}

	for _, e := range zr.File {
		if err := u.zipEntry(e); err != nil {
			return err
		}
	}

	return nil
}

// zipEntry adds one entry. Folders are passed over; names that would leave
// the batch, links, devices and oversized files are refused; hidden files
// and macOS metadata are skipped.
func (u *batchUploader) zipEntry(e *zip.File) error {
	mode := e.Mode()
	_, pathErr := jobs.CleanItemPath(e.Name)
	switch {
	case mode.IsDir() || strings.HasSuffix(e.Name, "/"):
		return nil
	case pathErr != nil:
		u.refuse(e.Name, "bad_path", pathErr.Error())
		return nil
	case skippedZipEntry(e.Name):
		u.answer.Skipped = append(u.answer.Skipped, e.Name)
		return nil
	case mode&fs.ModeSymlink != 0:
		u.refuse(e.Name, "symlink", "Links inside a zip are not followed.")
		return nil
	case !mode.IsRegular():
		u.refuse(e.Name, "not_a_file", "Only regular files are read from a zip.")
		return nil
	case e.UncompressedSize64 > uint64(u.s.cfg.MaxUploadBytes):
		u.refuse(e.Name, "too_large", u.s.tooLarge().Error())
		return nil
	}

	return u.addZipFile(e)
}

// addZipFile reads one entry, enforcing the limit on what it really holds
// rather than what its header claims.
func (u *batchUploader) addZipFile(e *zip.File) error {
	rc, err := e.Open()
	if err != nil {
		u.refuse(e.Name, "bad_zip_entry", "The entry could not be read: "+err.Error())
		return nil
	}
	defer rc.Close()

	fits, err := u.read(rc)
	switch {
	case err != nil:
		u.refuse(e.Name, "bad_zip_entry", "The entry could not be read: "+err.Error())
		return nil
	case !fits:
		u.refuse(e.Name, "too_large", u.s.tooLarge().Error())
		return nil
	}

	return u.addBuffered(e.Name)
}

// skippedZipEntry reports entries that are not photos by convention: macOS
// resource forks and hidden files.
func skippedZipEntry(name string) bool {
	return strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(path.Base(name), ".")
}
