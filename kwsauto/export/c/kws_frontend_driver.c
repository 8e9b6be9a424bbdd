/* Host-side driver of a generated front end, for kwsauto's ctypes binding (not part of an export). */
#include <stddef.h>
#include <stdint.h>

#include "kws_frontend.h"

size_t kws_driver_state_bytes(void) { return sizeof(kws_frontend_t); }
size_t kws_driver_input_size(void) { return KWS_FRONTEND_INPUT_SIZE; }
size_t kws_driver_sample_rate(void) { return KWS_SAMPLE_RATE; }

/* Each clip pushed from a fresh state in chunks of `chunk` samples; its last window into out. 0, or -1-clip
 * for the first clip too short for a whole window. */
long kws_driver_clips(const int16_t *pcm, size_t n_clips, size_t clip_samples, size_t chunk, int8_t *out) {
    kws_frontend_t fe;
    size_t c, i;
    for (c = 0; c < n_clips; c++) {
        const int16_t *clip = pcm + c * clip_samples;
        kws_frontend_init(&fe);
        for (i = 0; i < clip_samples; i += chunk) {
            kws_frontend_push(&fe, clip + i, clip_samples - i < chunk ? clip_samples - i : chunk);
        }
        if (!kws_frontend_ready(&fe)) return -1 - (long)c;
        kws_frontend_input(&fe, out + c * KWS_FRONTEND_INPUT_SIZE);
    }
    return 0;
}

/* One stream pushed in chunks of `chunk` samples; after every chunk that leaves a whole window, that window's
 * input into out (at most max_windows). Returns the number of windows written. */
long kws_driver_stream(const int16_t *pcm, size_t n, size_t chunk, int8_t *out, size_t max_windows) {
    kws_frontend_t fe;
    size_t i, written = 0;
    kws_frontend_init(&fe);
    for (i = 0; i < n && written < max_windows; i += chunk) {
        kws_frontend_push(&fe, pcm + i, n - i < chunk ? n - i : chunk);
        if (kws_frontend_ready(&fe)) kws_frontend_input(&fe, out + (written++) * KWS_FRONTEND_INPUT_SIZE);
    }
    return (long)written;
}
