/**
 * gRPC channels shared by simulated agents. HTTP/2 multiplexes streams, so a few hundred TCP
 * connections carry thousands of agents' streams; each channel holds at most `perChannel` of them,
 * below the master's `maxConcurrentStreams` (128 by default), past which grpc-js would queue a
 * stream instead of opening it. Each channel has its own subchannel pool, or grpc-js would fold
 * every channel to one address into one connection.
 */
import { Channel, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { MasterLinkTransport } from '../agent/master-link.js';

/** Streams per connection by default: room below the master's default of 128. */
export const DEFAULT_AGENTS_PER_CHANNEL = 100;

interface Slot {
  readonly channel: Channel;
  used: number;
}

/** Hands out shared channels per address; owns and closes them. */
export class ChannelPool implements MasterLinkTransport {
  private readonly slots = new Map<string, Slot[]>();

  constructor(
    private readonly credentials: ChannelCredentials,
    private readonly perChannel = DEFAULT_AGENTS_PER_CHANNEL,
    /** More options of every channel (the agents' reconnection schedule: `reconnectChannelOptions`). */
    private readonly options: ChannelOptions = {},
  ) {
    if (!Number.isInteger(perChannel) || perChannel < 1) throw new RangeError('perChannel must be a positive integer');
  }

  /** A channel to `address` with room for one more agent's stream. */
  channel(address: string): Channel {
    let slots = this.slots.get(address);
    if (!slots) {
      slots = [];
      this.slots.set(address, slots);
    }
    let slot = slots.at(-1);
    if (!slot || slot.used >= this.perChannel) {
      slot = {
        channel: new Channel(address, this.credentials, {
          ...this.options,
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': 64 * 1024 * 1024,
        }),
        used: 0,
      };
      slots.push(slot);
    }
    slot.used += 1;
    return slot.channel;
  }

  /** How many connections the pool holds, over every address. */
  get size(): number {
    let n = 0;
    for (const slots of this.slots.values()) n += slots.length;
    return n;
  }

  /** Closes every channel. */
  close(): void {
    for (const slots of this.slots.values()) for (const slot of slots) slot.channel.close();
    this.slots.clear();
  }
}
