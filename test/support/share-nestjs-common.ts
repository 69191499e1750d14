// Publishes the ESM @nestjs/common this test file uses, for the CommonJS dependencies that
// require() it (see jest-resolver.cjs).
import * as nestCommon from '@nestjs/common';
import * as nestCore from '@nestjs/core';

(globalThis as Record<symbol, unknown>)[Symbol.for('sentiment-api.test.nestjs-common')] = nestCommon;
(globalThis as Record<symbol, unknown>)[Symbol.for('sentiment-api.test.nestjs-core')] = nestCore;
