package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
)

// credentials gives the user name and secret for a registry: the option
// credentials for the target's registry, the Docker config (auths,
// credsStore, credHelpers, identity tokens) for the others and when no
// option credentials are given. The Docker config is read once, when a
// registry first asks for credentials.
type credentials struct {
	opts   HostOptions
	target string

	once sync.Once
	cfg  *configfile.ConfigFile
	err  error

	mu    sync.Mutex
	users map[string]string
}

func newCredentials(opts HostOptions, target string) *credentials {
	return &credentials{opts: opts, target: target, users: map[string]string{}}
}

// forRegistry is the credentials callback for the hosts of registry name,
// in the form containerd's authorizer wants. An identity token is given as
// the secret with an empty user name, which containerd sends as a refresh
// token.
func (c *credentials) forRegistry(name string) func(host string) (string, string, error) {
	return func(string) (string, string, error) {
		if name == c.target && (c.opts.Username != "" || c.opts.Password != "") {
			c.setUser(name, c.opts.Username)
			return c.opts.Username, c.opts.Password, nil
		}
		cfg, err := c.load()
		if err != nil {
			return "", "", err
		}
		ac, err := cfg.GetAuthConfig(name)
		if err != nil {
			return "", "", fmt.Errorf("credentials for %s: %w", name, err)
		}
		c.setUser(name, ac.Username)
		if ac.IdentityToken != "" {
			return "", ac.IdentityToken, nil
		}
		return ac.Username, ac.Password, nil
	}
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

func (c *credentials) load() (*configfile.ConfigFile, error) {
	c.once.Do(func() { c.cfg, c.err = loadDockerConfig(c.opts.DockerConfig) })
	return c.cfg, c.err
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
		return nil, fmt.Errorf("reading the Docker config: %w", err)
	}
	return cfg, nil
}
