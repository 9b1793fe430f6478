package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Store reads objects of a distribution store by key (`<name>/index.json`, `<name>/<version>/<file>`).
type Store interface {
	// Open reads key from byte offset on. A missing key is an error that errors.Is(err, ErrNotFound).
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	// String names the store for messages.
	String() string
}

// StoreOptions configure OpenStore.
type StoreOptions struct {
	// S3Endpoint is an S3-compatible endpoint (http(s)://host:port) for s3:// stores (R2, MinIO, versitygw);
	// path-style addressing is used with it. Empty: AWS_ENDPOINT_URL_S3, else AWS S3.
	S3Endpoint string
	// S3Region, default AWS_REGION, else us-east-1.
	S3Region string
	// HTTPClient for http(s):// stores; default http.DefaultClient.
	HTTPClient *http.Client
}

// OpenStore opens a store URL: s3://bucket[/prefix], http(s)://host[/prefix], file:///path (or a plain path).
func OpenStore(raw string, opts StoreOptions) (Store, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if raw != "" && !strings.Contains(raw, "://") {
			return fileStore{root: raw}, nil
		}
		return nil, fmt.Errorf("store %q is not a URL: use s3://bucket/prefix, https://host/prefix or file:///path", raw)
	}
	switch u.Scheme {
	case "file":
		return fileStore{root: filepath.FromSlash(u.Path)}, nil
	case "http", "https":
		client := opts.HTTPClient
		if client == nil {
			client = http.DefaultClient
		}
		return httpStore{base: strings.TrimSuffix(raw, "/"), client: client}, nil
	case "s3":
		return newS3Store(u, opts)
	}
	return nil, fmt.Errorf("store %q: unknown scheme %q; use s3://, https://, http:// or file://", raw, u.Scheme)
}

type fileStore struct{ root string }

func (s fileStore) String() string { return "file://" + filepath.ToSlash(s.root) }

func (s fileStore) Open(_ context.Context, key string, offset int64) (io.ReadCloser, error) {
	file, err := os.Open(filepath.Join(s.root, filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFoundErr("%s/%s does not exist", s, key)
	}
	if err != nil {
		return nil, unavailableErr("%s/%s: %v", s, key, err)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		file.Close()
		return nil, unavailableErr("%s/%s: %v", s, key, err)
	}
	return file, nil
}

type httpStore struct {
	base   string
	client *http.Client
}

func (s httpStore) String() string { return s.base }

func (s httpStore) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	target := s.base + "/" + (&url.URL{Path: key}).EscapedPath()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		request.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	response, err := s.client.Do(request)
	if err != nil {
		return nil, unavailableErr("GET %s: %v", target, err)
	}
	switch {
	case response.StatusCode == http.StatusNotFound || response.StatusCode == http.StatusForbidden && strings.HasSuffix(key, ".minisig"):
		response.Body.Close()
		return nil, notFoundErr("GET %s: %s", target, response.Status)
	case response.StatusCode == http.StatusUnauthorized || response.StatusCode == http.StatusForbidden:
		response.Body.Close()
		return nil, deniedErr("GET %s: %s: the host refuses access (a private bucket needs the s3:// store with credentials)", target, response.Status)
	case offset > 0 && response.StatusCode == http.StatusPartialContent, offset == 0 && response.StatusCode == http.StatusOK:
		return response.Body, nil
	case offset > 0 && response.StatusCode == http.StatusOK:
		// The host ignored the range: skip what we have.
		if _, err := io.CopyN(io.Discard, response.Body, offset); err != nil {
			response.Body.Close()
			return nil, unavailableErr("GET %s: %v", target, err)
		}
		return response.Body, nil
	}
	response.Body.Close()
	return nil, unavailableErr("GET %s: %s", target, response.Status)
}

type s3Store struct {
	client *minio.Client
	bucket string
	prefix string
}

func newS3Store(u *url.URL, opts StoreOptions) (Store, error) {
	endpoint := opts.S3Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	region := opts.S3Region
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	secure, host, lookup := true, "s3.amazonaws.com", minio.BucketLookupAuto
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || e.Host == "" {
			return nil, fmt.Errorf("S3 endpoint %q is not a URL like http://127.0.0.1:9000", endpoint)
		}
		secure, host, lookup = e.Scheme == "https", e.Host, minio.BucketLookupPath
	}
	// The standard AWS chain: variables, then the shared credentials file (AWS_PROFILE), then instance roles.
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{},
	})
	client, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region, BucketLookup: lookup})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %v", host, err)
	}
	return s3Store{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}, nil
}

func (s s3Store) String() string { return "s3://" + path.Join(s.bucket, s.prefix) }

func (s s3Store) Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	objectKey := path.Join(s.prefix, key)
	opts := minio.GetObjectOptions{}
	if offset > 0 {
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, err
		}
	}
	// Core's GetObject sends the GET now (the client's is lazy), so a missing key or a refused signature is an
	// error here, with the code from the response body.
	object, _, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, objectKey, opts)
	if err != nil {
		response := minio.ToErrorResponse(err)
		switch response.Code {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return nil, notFoundErr("%s/%s does not exist (%s)", s, key, response.Code)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound", "InvalidToken", "ExpiredToken":
			return nil, deniedErr("%s/%s: the store refused the credentials (%s: %s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE", s, key, response.Code, response.Message)
		}
		return nil, unavailableErr("%s/%s: %v", s, key, err)
	}
	return object, nil
}
