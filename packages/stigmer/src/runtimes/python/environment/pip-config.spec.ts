import { parsePipConfigList, uvEnvironmentFor } from './pip-config';

describe('parsePipConfigList', () => {
  it("follows pip's precedence: environment, then the install section, then global", () => {
    const config = parsePipConfigList(
      [
        "global.index-url='https://global.invalid/simple'",
        "install.index-url='https://install.invalid/simple'",
        "global.cert='/etc/global.pem'",
        ":env:.cert='/etc/env.pem'",
        ":env:.find-links='/opt/wheels /srv/more'",
        "global.extra-index-url='https://a.invalid/simple\\nhttps://b.invalid/simple'",
        "global.trusted-host='a.invalid b.invalid'",
        "global.timeout='60'",
      ].join('\n'),
    );
    expect(config).toEqual({
      indexUrl: 'https://install.invalid/simple',
      extraIndexUrls: ['https://a.invalid/simple', 'https://b.invalid/simple'],
      findLinks: ['/opt/wheels', '/srv/more'],
      cert: '/etc/env.pem',
      clientCert: undefined,
      trustedHosts: ['a.invalid', 'b.invalid'],
    });
  });

  it('is empty for no output', () => {
    expect(parsePipConfigList('')).toEqual({ extraIndexUrls: [], findLinks: [], trustedHosts: [], indexUrl: undefined, cert: undefined, clientCert: undefined });
  });
});

describe('uvEnvironmentFor', () => {
  const config = {
    indexUrl: 'https://mirror.invalid/simple',
    extraIndexUrls: ['https://a.invalid/simple', 'https://b.invalid/simple'],
    findLinks: ['/opt/wheels', '/srv/more'],
    cert: '/etc/ca.pem',
    trustedHosts: ['mirror.invalid'],
  };

  it("maps pip's index, find-links, certificate and trusted hosts to uv's variables", () => {
    expect(uvEnvironmentFor(config, {})).toEqual({
      UV_DEFAULT_INDEX: 'https://mirror.invalid/simple',
      UV_INDEX: 'https://a.invalid/simple https://b.invalid/simple',
      UV_FIND_LINKS: '/opt/wheels,/srv/more',
      SSL_CERT_FILE: '/etc/ca.pem',
      UV_INSECURE_HOST: 'mirror.invalid',
    });
  });

  it('keeps what the user set for uv, and never mixes pip indexes into uv indexes', () => {
    const env = uvEnvironmentFor(config, { UV_INDEX_URL: 'https://own.invalid/simple', SSL_CERT_FILE: '/own.pem' });
    expect(env).toEqual({ UV_FIND_LINKS: '/opt/wheels,/srv/more', UV_INSECURE_HOST: 'mirror.invalid' });
  });

  it('sets nothing for pip defaults', () => {
    expect(uvEnvironmentFor({ extraIndexUrls: [], findLinks: [], trustedHosts: [] }, {})).toEqual({});
  });
});
