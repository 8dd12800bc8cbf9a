"""What the soak's backend and visitors agree on: the download payload and WebSocket masking."""
import random
import zlib

MAX_HEAD = 16384
# Downloads are this block repeated (cut at the size asked); random bytes, so that a byte
# lost, doubled or moved within a block changes the checksum.
BLOCK = random.Random(20261206).randbytes(1 << 20)


def payload_crc32(size):
    """The crc32 of the first `size` bytes of the download payload."""
    crc, left = 0, size
    while left > 0:
        piece = BLOCK[:min(left, len(BLOCK))]
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    return crc


def xor_mask(data, mask):
    """A WebSocket frame's payload (un)masked with its 4-byte key, without a per-byte loop."""
    n = len(data)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def frame_head(opcode, length, masked):
    """The head of a final WebSocket frame of `length` payload bytes."""
    bit = 0x80 if masked else 0
    if length < 126:
        return bytes([0x80 | opcode, bit | length])
    if length < 65536:
        return bytes([0x80 | opcode, bit | 126]) + length.to_bytes(2, "big")
    return bytes([0x80 | opcode, bit | 127]) + length.to_bytes(8, "big")


async def read_frame(reader):
    """(opcode, payload) of the next frame, unmasked."""
    b0, b1 = await reader.readexactly(2)
    length = b1 & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    data = await reader.readexactly(length)
    return b0 & 0x0F, (xor_mask(data, mask) if mask else data)
