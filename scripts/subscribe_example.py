#!/usr/bin/env python3
"""Subscribe to the ZeroMQ stream of `larsel run` and decode it (wire format: docs/streaming.md).

    python3 scripts/subscribe_example.py tcp://127.0.0.1:5556 [--topic frame.selected] [--count 100]

Needs pyzmq and numpy (Debian: apt-get install python3-zmq python3-numpy).
"""
import argparse
import json

import numpy as np
import zmq

WIRES, TICKS = 480, 64
DECISION_DTYPE = np.dtype([('timestamp', '<u8'), ('sequence', '<u8'), ('score', '<f4'), ('arrival_to_decision_us', '<f4'),
                           ('face', '<u4'), ('decision', 'u1'), ('flags', 'u1'), ('reserved', '<u2')])
assert DECISION_DTYPE.itemsize == 32
DECISIONS = {0: 'rejected', 1: 'selected', 2: 'prescaled'}
FLAG_INCOMPLETE, FLAG_TRUTH_KNOWN, FLAG_TRUTH_SIGNAL = 1, 2, 4


class GapCounter:
    """Messages the publisher dropped for us: gaps in each topic's `message` counter."""

    def __init__(self):
        self.expected = {}
        self.missed = {}

    def update(self, topic, message):
        expected = self.expected.get(topic)
        if expected is not None and message > expected:
            self.missed[topic] = self.missed.get(topic, 0) + message - expected
            print(f'  !! {message - expected} {topic} messages dropped before #{message}')
        elif expected is not None and message < expected:
            print(f'  !! {topic} counter went back to {message}: the publisher restarted')
        self.expected[topic] = message + 1


def show_frame(header, payload):
    image = np.frombuffer(payload, dtype='<u2').reshape(WIRES, TICKS)  # wire-major: image[wire, tick]
    truth = ''
    if header['flags'] & FLAG_TRUTH_KNOWN:
        truth = ' truth ' + ('signal' if header['flags'] & FLAG_TRUTH_SIGNAL else 'background')
    print(f"frame.selected #{header['message']} run {header['run']} face {header['face']} ts {header['timestamp']} "
          f"score {header['score']:.3f} {header['decision']}{truth} image {image.shape} max ADC {image.max()}")


def show_decisions(header, payload):
    records = np.frombuffer(payload, dtype=DECISION_DTYPE)
    if len(records) != header['count']:
        raise ValueError(f"{len(records)} records, header says {header['count']}")
    selected = int(np.count_nonzero(records['decision'] == 1))
    span = f", ts {records['timestamp'][0]}..{records['timestamp'][-1]}" if len(records) else ''
    print(f"frame.decision #{header['message']} run {header['run']}: {len(records)} records, {selected} selected{span}")
    for record in records[:3]:
        print(f"    face {record['face']} seq {record['sequence']} score {record['score']:.3f} {DECISIONS.get(int(record['decision']), '?')}")


def show(topic, parts):
    header = json.loads(parts[1])
    if topic == 'frame.selected':
        show_frame(header, parts[2])
    elif topic == 'frame.decision':
        show_decisions(header, parts[2])
    elif topic == 'metrics':
        print(f"metrics #{header['message']}: {json.dumps(header)[:160]}")
    elif topic == 'run.info':
        print(f"run.info run {header['run']} model {header['model_hash'][:12]} threshold {header['threshold']} "
              f"prescale {header['prescale']}")
    return header


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('endpoint', help='the publisher, e.g. tcp://127.0.0.1:5556')
    parser.add_argument('--topic', action='append', default=[], help='topic prefix (repeatable; default: all)')
    parser.add_argument('--count', type=int, default=0, help='stop after this many messages (0: run until Ctrl-C)')
    args = parser.parse_args()

    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.RCVHWM, 1000)  # set before connect
    socket.connect(args.endpoint)
    for topic in args.topic or ['']:
        socket.setsockopt_string(zmq.SUBSCRIBE, topic)

    gaps = GapCounter()
    received = 0
    try:
        while args.count == 0 or received < args.count:
            parts = socket.recv_multipart()  # all frames of a message arrive together
            received += 1
            topic = parts[0].decode()
            header = show(topic, parts)
            if 'message' in header:  # run.info has no counter
                gaps.update(topic, header['message'])
    except KeyboardInterrupt:
        pass
    finally:
        socket.close(linger=0)
        context.term()
    print(f'{received} messages received, missed per topic: {gaps.missed or "none"}')


if __name__ == '__main__':
    main()
