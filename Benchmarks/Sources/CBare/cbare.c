#include "cbare.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct cbare_codec {
    int id;
    z_stream deflater;
    z_stream inflater;
    ZSTD_CCtx *zstd_c;
    ZSTD_DCtx *zstd_d;
    LZ4F_dctx *lz4_d;
};

static LZ4F_preferences_t lz4_preferences(size_t content_size) {
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.blockSizeID = LZ4F_max64KB;
    p.frameInfo.blockMode = LZ4F_blockIndependent;
    p.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    p.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    p.frameInfo.frameType = LZ4F_frame;
    p.frameInfo.contentSize = content_size;
    p.compressionLevel = 0;
    return p;
}

cbare_codec *cbare_codec_create(int id) {
    if (id < 0 || id > 4) return NULL;
    cbare_codec *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->id = id;
    int ok = 1;
    switch (id) {
    case 1:
        ok = deflateInit2(&c->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK
            && inflateInit2(&c->inflater, 15 + 16) == Z_OK;
        break;
    case 3:
        ok = !LZ4F_isError(LZ4F_createDecompressionContext(&c->lz4_d, LZ4F_VERSION));
        break;
    case 4:
        c->zstd_c = ZSTD_createCCtx();
        c->zstd_d = ZSTD_createDCtx();
        ok = c->zstd_c && c->zstd_d;
        break;
    }
    if (!ok) {
        cbare_codec_free(c);
        return NULL;
    }
    return c;
}

void cbare_codec_free(cbare_codec *c) {
    if (!c) return;
    if (c->id == 1) {
        deflateEnd(&c->deflater);
        inflateEnd(&c->inflater);
    }
    if (c->lz4_d) LZ4F_freeDecompressionContext(c->lz4_d);
    ZSTD_freeCCtx(c->zstd_c);
    ZSTD_freeDCtx(c->zstd_d);
    free(c);
}

size_t cbare_compress_bound(cbare_codec *c, size_t n) {
    switch (c->id) {
    case 0: return n;
    case 1: return deflateBound(&c->deflater, (uLong)n);
    case 2: return snappy_max_compressed_length(n);
    case 3: {
        LZ4F_preferences_t p = lz4_preferences(n);
        return LZ4F_compressFrameBound(n, &p);
    }
    case 4: return ZSTD_compressBound(n);
    }
    return 0;
}

size_t cbare_compress(cbare_codec *c, void *dst, size_t cap, const void *src, size_t n) {
    switch (c->id) {
    case 0:
        if (cap < n) return 0;
        memcpy(dst, src, n);
        return n;
    case 1: {
        z_stream *s = &c->deflater;
        if (deflateReset(s) != Z_OK) return 0;
        s->next_in = (Bytef *)src;
        s->avail_in = (uInt)n;
        s->next_out = dst;
        s->avail_out = (uInt)cap;
        if (deflate(s, Z_FINISH) != Z_STREAM_END) return 0;
        return cap - s->avail_out;
    }
    case 2: {
        size_t out = cap;
        return snappy_compress(src, n, dst, &out) == SNAPPY_OK ? out : 0;
    }
    case 3: {
        LZ4F_preferences_t p = lz4_preferences(n);
        size_t r = LZ4F_compressFrame(dst, cap, src, n, &p);
        return LZ4F_isError(r) ? 0 : r;
    }
    case 4: {
        size_t r = ZSTD_compressCCtx(c->zstd_c, dst, cap, src, n, ZSTD_defaultCLevel());
        return ZSTD_isError(r) ? 0 : r;
    }
    }
    return 0;
}

size_t cbare_decompress(cbare_codec *c, void *dst, size_t cap, const void *src, size_t n) {
    switch (c->id) {
    case 0:
        if (cap < n) return (size_t)-1;
        memcpy(dst, src, n);
        return n;
    case 1: {
        z_stream *s = &c->inflater;
        if (inflateReset(s) != Z_OK) return (size_t)-1;
        s->next_in = (Bytef *)src;
        s->avail_in = (uInt)n;
        s->next_out = dst;
        s->avail_out = (uInt)cap;
        if (inflate(s, Z_FINISH) != Z_STREAM_END) return (size_t)-1;
        return cap - s->avail_out;
    }
    case 2: {
        size_t out = cap;
        return snappy_uncompress(src, n, dst, &out) == SNAPPY_OK ? out : (size_t)-1;
    }
    case 3: {
        LZ4F_resetDecompressionContext(c->lz4_d);
        size_t produced = 0, consumed = 0;
        for (;;) {
            size_t out = cap - produced, in = n - consumed;
            size_t r = LZ4F_decompress(c->lz4_d, (char *)dst + produced, &out, (const char *)src + consumed, &in, NULL);
            if (LZ4F_isError(r)) return (size_t)-1;
            produced += out;
            consumed += in;
            if (r == 0) return consumed == n ? produced : (size_t)-1;
            if (out == 0 && in == 0) return (size_t)-1;
        }
    }
    case 4: {
        size_t r = ZSTD_decompressDCtx(c->zstd_d, dst, cap, src, n);
        return ZSTD_isError(r) ? (size_t)-1 : r;
    }
    }
    return (size_t)-1;
}
