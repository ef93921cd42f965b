/* OpenSSL's in-process CMS verification rate on one file: each round parses the DER
 * ContentInfo (d2i_CMS_ContentInfo) and runs CMS_verify against a store holding the
 * trust anchor (no CRLs: no revocation check), content written to a memory BIO, one
 * core, about `seconds`. Built and run by benches/cms_verify.rs.
 *
 *   cms_verify_openssl SIGNATURE.der ROOT.pem [SECONDS]   prints "verify_per_s N" */
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "cms_verify_openssl: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return fail("usage");
    double seconds = argc > 3 ? atof(argv[3]) : 2.0;

    FILE *f = fopen(argv[1], "rb");
    if (!f) return fail("opening the signature");
    static unsigned char der[1 << 16];
    long len = (long)fread(der, 1, sizeof der, f);
    fclose(f);

    BIO *rb = BIO_new_file(argv[2], "r");
    X509 *root = rb ? PEM_read_bio_X509(rb, NULL, NULL, NULL) : NULL;
    BIO_free(rb);
    if (!root) return fail("reading the root");
    X509_STORE *store = X509_STORE_new();
    if (!store || !X509_STORE_add_cert(store, root)) return fail("the store");

    long n = 0;
    double start = now(), t;
    do {
        const unsigned char *p = der;
        CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, len);
        if (!cms) return fail("d2i_CMS_ContentInfo");
        BIO *out = BIO_new(BIO_s_mem());
        if (CMS_verify(cms, NULL, store, NULL, out, CMS_BINARY) != 1) return fail("CMS_verify");
        BIO_free(out);
        CMS_ContentInfo_free(cms);
        n++;
        t = now() - start;
    } while (t < seconds);
    printf("verify_per_s %.1f\n", n / t);
    X509_STORE_free(store);
    X509_free(root);
    return 0;
}
