// Fakes of the internet services the apps talk to, each on its own loopback port, so that tests run
// the real clients against the real wire formats without leaving the machine. otlp-receiver: a trace
// collector (OTLP/JSON). test-certificates: a throwaway PKI (CA, server and client certificates) for TLS tests.
export * from './fake-gmail.js';
export * from './fake-oauth.js';
export * from './fake-pubsub.js';
export * from './fake-slack.js';
export * from './fake-vault.js';
export * from './local-server.js';
export * from './otlp-receiver.js';
export * from './sink.js';
export * from './test-certificates.js';
