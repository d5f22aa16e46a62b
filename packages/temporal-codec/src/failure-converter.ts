// Loaded by path (`failureConverterPath`) by the worker, the clients and the workflow bundle, so it stays
// bundle-safe: no Node APIs. Failure messages and stack traces move into an encoded-attributes payload,
// which the payload codec then encrypts like any other payload.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
