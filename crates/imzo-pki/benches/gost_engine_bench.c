/* GOST R 34.10-2001 (CryptoPro-A) sign and verify per second through OpenSSL's GOST
 * engine: EVP_DigestSign / EVP_DigestVerify with GOST R 34.11-94 over a 64-byte
 * message, one core, about two seconds each. Built and run by benches/ozdst.rs. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "gost_engine_bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    unsigned char msg[64];
    unsigned char sig[128];
    size_t siglen = sizeof sig;
    memset(msg, 0x5a, sizeof msg);

    ENGINE *e = ENGINE_by_id("gost");
    if (!e || !ENGINE_init(e)) return fail("loading the gost engine");
    /* Registers the engine's key (ASN.1) methods so key generation finds them. */
    if (!ENGINE_set_default(e, ENGINE_METHOD_ALL)) return fail("ENGINE_set_default");
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(NID_id_GostR3410_2001, e);
    EVP_PKEY *pkey = NULL;
    if (!kctx || EVP_PKEY_keygen_init(kctx) <= 0 ||
        EVP_PKEY_CTX_ctrl_str(kctx, "paramset", "A") <= 0 || EVP_PKEY_keygen(kctx, &pkey) <= 0)
        return fail("key generation");
    const EVP_MD *md = ENGINE_get_digest(e, NID_id_GostR3411_94);
    if (!md) return fail("GOST R 34.11-94 digest");

    long n = 0;
    double start = now(), t;
    do {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        siglen = sizeof sig;
        if (EVP_DigestSignInit(m, NULL, md, e, pkey) <= 0 || EVP_DigestSign(m, sig, &siglen, msg, sizeof msg) <= 0)
            return fail("EVP_DigestSign");
        EVP_MD_CTX_free(m);
        n++;
        t = now() - start;
    } while (t < seconds);
    printf("sign_per_s %.1f\n", n / t);

    n = 0;
    start = now();
    do {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        if (EVP_DigestVerifyInit(m, NULL, md, e, pkey) <= 0 || EVP_DigestVerify(m, sig, siglen, msg, sizeof msg) != 1)
            return fail("EVP_DigestVerify");
        EVP_MD_CTX_free(m);
        n++;
        t = now() - start;
    } while (t < seconds);
    printf("verify_per_s %.1f\n", n / t);

    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    ENGINE_finish(e);
    ENGINE_free(e);
    return 0;
}
