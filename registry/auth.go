package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
)

// credentials asks the client's CredentialFunc (the Docker config's when
// none was given) for a registry's credentials, and remembers the user name
// each registry was given, for messages.
type credentials struct {
	fn CredentialFunc

	mu    sync.Mutex
	users map[string]string
}

func newCredentials(opts Options) *credentials {
	fn := opts.Credentials
	if fn == nil {
		fn = DockerCredentials(opts.DockerConfig)
	}
	return &credentials{fn: fn, users: map[string]string{}}
}

// forRegistry is the credentials callback for the hosts of registry name,
// in the form containerd's authorizer wants. An identity token is given as
// the secret with an empty user name, which containerd sends as a refresh
// token.
func (c *credentials) forRegistry(name string) func(host string) (string, string, error) {
	return func(string) (string, string, error) {
		user, secret, err := c.fn(name)
		if err != nil {
			return "", "", err
		}
		c.setUser(name, user)
		return user, secret, nil
	}
}

// DockerCredentials gives the credentials of the Docker config at path (a
// directory or a config.json file; empty means $DOCKER_CONFIG, or
// ~/.docker): auths, credsStore, credHelpers and identity tokens, as
// `docker login` stores them. The config is read once, when a registry
// first asks; a config that does not exist gives no credentials.
func DockerCredentials(path string) CredentialFunc {
	var (
		once sync.Once
		cfg  *configfile.ConfigFile
		err  error
	)
	return func(host string) (string, string, error) {
		once.Do(func() { cfg, err = loadDockerConfig(path) })
		if err != nil {
			return "", "", err
		}
		ac, err := cfg.GetAuthConfig(host)
		if err != nil {
			return "", "", fmt.Errorf("credentials for %s: %w", host, err)
		}
		if ac.IdentityToken != "" {
			return "", ac.IdentityToken, nil
		}
		return ac.Username, ac.Password, nil
	}
}

// HostCredentials gives user and secret to the registry hosts named, and
// asks fallback for every other host (nil fallback: anonymous). It is how
// credentials given for one registry, such as a push's target, stay away
// from the others.
func HostCredentials(user, secret string, fallback CredentialFunc, hosts ...string) CredentialFunc {
	return func(host string) (string, string, error) {
		if slices.Contains(hosts, host) {
			return user, secret, nil
		}
		if fallback == nil {
			return "", "", nil
		}
		return fallback(host)
	}
}

// CheckDockerConfig reports whether the Docker config at path can be used,
// before any registry asks for it: a path given that does not exist, or a
// config.json that does not parse, is an error wrapping ErrDockerConfig and
// naming the file. An empty path (the default location) that does not exist
// is no error: it gives no credentials.
func CheckDockerConfig(path string) error {
	if path != "" {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return fmt.Errorf("%w: %s does not exist", ErrDockerConfig, path)
		} else if err != nil {
			return fmt.Errorf("%w: %w", ErrDockerConfig, err)
		}
	}
	if _, err := loadDockerConfig(path); err != nil {
		return fmt.Errorf("%w: %w", ErrDockerConfig, err)
	}
	return nil
}

func (c *credentials) setUser(name, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users[name] = user
}

// user is the user name last given for registry name, for messages.
func (c *credentials) user(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[name]
}

// loadDockerConfig reads a Docker config directory or config.json file;
// empty means $DOCKER_CONFIG, or ~/.docker. A missing file is an empty
// config.
func loadDockerConfig(path string) (*configfile.ConfigFile, error) {
	if path == "" {
		path = os.Getenv("DOCKER_CONFIG")
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("finding the Docker config: %w", err)
		}
		path = filepath.Join(home, ".docker")
	}
	fi, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading the Docker config: %w", err)
	}
	if err == nil && !fi.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading the Docker config: %w", err)
		}
		defer f.Close()
		cfg, err := dockerconfig.LoadFromReader(f)
		if err != nil {
			return nil, fmt.Errorf("reading the Docker config %s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := dockerconfig.Load(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Docker config %s: %w", filepath.Join(path, dockerconfig.ConfigFileName), err)
	}
	return cfg, nil
}
