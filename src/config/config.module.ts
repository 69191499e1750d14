import { DynamicModule, Global, Module } from '@nestjs/common';
import { Settings } from './settings.js';

/** Injection token for the validated {@link Settings} object. */
export const SETTINGS = Symbol('SETTINGS');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(settings: Settings): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: SETTINGS, useValue: settings }], exports: [SETTINGS] };
  }
}
