import { InvalidSettingError, loadSettings } from '../../src/config/settings.js';

describe('HTTP server limits (settings)', () => {
  it('has bounded defaults: nothing waits forever', () => {
    expect(loadSettings({}).http).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      connectionTimeoutMs: 60_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 4096,
      maxConnectionsPerIp: 1024,
    });
    expect(loadSettings({}).shutdownInFlightMs).toBe(5000);
  });

  it('keeps a silent connection open past the inference deadline, so a request still computing is answered', () => {
    expect(loadSettings({ REQUEST_TIMEOUT_MS: '180000' }).http.connectionTimeoutMs).toBe(190_000);
    expect(() => loadSettings({ REQUEST_TIMEOUT_MS: '180000', HTTP_CONNECTION_TIMEOUT_MS: '60000' })).toThrow(
      /HTTP_CONNECTION_TIMEOUT_MS must be 0 or at least REQUEST_TIMEOUT_MS/,
    );
    expect(
      loadSettings({ REQUEST_TIMEOUT_MS: '180000', HTTP_CONNECTION_TIMEOUT_MS: '0' }).http.connectionTimeoutMs,
    ).toBe(0);
  });

  it('keeps the headers timeout within a short request timeout', () => {
    expect(loadSettings({ HTTP_REQUEST_TIMEOUT_MS: '3000' }).http.headersTimeoutMs).toBe(3000);
  });

  it('refuses a headers timeout the request timeout would always beat', () => {
    expect(() => loadSettings({ HTTP_REQUEST_TIMEOUT_MS: '3000', HTTP_HEADERS_TIMEOUT_MS: '5000' })).toThrow(
      InvalidSettingError,
    );
  });
});
