/** Source kinds by name: the one place that maps a config entry to its implementation. */
import type { SourceConfig } from '../../config/index.js';
import { MqttSource, type MqttSourceDeps } from './mqtt/mqtt-source.js';
import { OpcuaSource, type OpcuaSourceDeps } from './opcua.js';
import { ReplaySource } from './replay.js';
import type { Source } from './source.js';

export type SourceDeps = OpcuaSourceDeps & MqttSourceDeps;

export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  switch (config.kind) {
    case 'opcua':
      return new OpcuaSource(config, deps);
    case 'replay':
      return new ReplaySource(config, deps);
    case 'mqtt':
    case 'sparkplug':
      return new MqttSource(config, deps);
  }
}
