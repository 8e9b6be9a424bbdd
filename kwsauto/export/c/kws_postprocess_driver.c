/* Host-side driver of a generated kws_postprocess.c, for kwsauto's ctypes binding (not part of an export). */
#include <stddef.h>
#include <stdint.h>

#include "kws_postprocess.h"

size_t kws_pp_driver_labels(void) { return KWS_PP_NUM_LABELS; }

/* Push n_hops score vectors [n_hops][KWS_PP_NUM_LABELS] from a fresh state; every report's hop, label and score
 * into the outputs (room for n_hops). Returns the number of reports. */
long kws_pp_driver_run(const int8_t *scores, size_t n_hops, int32_t *hop_out, int32_t *label_out, double *score_out) {
    kws_pp_t pp;
    size_t i;
    long n = 0;
    kws_pp_init(&pp);
    for (i = 0; i < n_hops; i++) {
        double score = 0.0;
        int label = kws_pp_push(&pp, scores + i * KWS_PP_NUM_LABELS, &score);
        if (label >= 0) {
            hop_out[n] = (int32_t)i;
            label_out[n] = label;
            score_out[n] = score;
            n++;
        }
    }
    return n;
}
