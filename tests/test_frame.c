/* Unit tests of the shared code in lib/: the frame codec, the handshake,
 * the name rules and the error table. */
#include "cases.h"
#include "internal.h"

START_TEST(test_header_encodes_little_endian_with_magic_and_version) {
  static const unsigned char want[16] = {'H', 'O', 'F', 'F', 1, 2, 0x34, 0x12,
                                         0x78, 0x56, 0x00, 0x00, 0, 0, 0, 0};
  unsigned char b[16];
  handoff__hdr_t h;
  handoff__hdr_encode(b, HANDOFF__T_DATA, 0x1234, 0x5678);
  ck_assert(memcmp(b, want, 16) == 0);
  handoff__hdr_encode(b, HANDOFF__T_DATA, 64, 65536);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), 0);
  ck_assert_uint_eq(h.type, HANDOFF__T_DATA);
  ck_assert_uint_eq(h.nsocks, 64);
  ck_assert_uint_eq(h.len, 65536);
}
END_TEST

START_TEST(test_header_decode_rejects_garbage) {
  unsigned char b[16];
  handoff__hdr_t h;
  int i;
  handoff__hdr_encode(b, HANDOFF__T_DATA, 1, 1);
  ck_assert_int_eq(handoff__hdr_decode(b, 15, &h), HANDOFF_EPROTO); /* short */
  for (i = 0; i < 16; i++) { /* any flipped byte of magic/version/reserved */
    if (i >= 5 && i < 12) continue;
    b[i] ^= 0x40;
    ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
    b[i] ^= 0x40;
  }
  b[5] = 0; /* unknown type */
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
  b[5] = 99;
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
}
END_TEST

START_TEST(test_header_decode_enforces_limits_per_type) {
  unsigned char b[16];
  handoff__hdr_t h;
  handoff__hdr_encode(b, HANDOFF__T_DATA, HANDOFF_MAX_SOCKS + 1, 0);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
  handoff__hdr_encode(b, HANDOFF__T_DATA, 0, (size_t)HANDOFF_MAX_DATA + 1);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
  handoff__hdr_encode(b, HANDOFF__T_HELLO, 1, HANDOFF__HELLO_LEN);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
  handoff__hdr_encode(b, HANDOFF__T_HELLO, 0, 9);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
  handoff__hdr_encode(b, HANDOFF__T_REFUSE, 0, 3);
  ck_assert_int_eq(handoff__hdr_decode(b, 16, &h), HANDOFF_EPROTO);
}
END_TEST

START_TEST(test_frame_length_must_match_header_exactly) {
  handoff__hdr_t h;
  h.type = HANDOFF__T_DATA;
  h.nsocks = 2;
  h.len = 10;
  ck_assert_int_eq(handoff__frame_check(&h, 16 + 10, 0), 0);
  ck_assert_int_eq(handoff__frame_check(&h, 16 + 9, 0), HANDOFF_EPROTO);
  ck_assert_int_eq(handoff__frame_check(&h, 16 + 11, 0), HANDOFF_EPROTO);
  ck_assert_int_eq(handoff__frame_check(&h, 16 + 2 * 628 + 10, 628), 0);
  ck_assert_int_eq(handoff__frame_check(&h, 16 + 1 * 628 + 10, 628), HANDOFF_EPROTO);
}
END_TEST

START_TEST(test_handshake_accepts_hello_maps_refuse_rejects_rest) {
  unsigned char b[64];
  handoff__limits_t lim;
  handoff__hello_encode(b);
  ck_assert_int_eq(handoff__handshake_parse(b, HANDOFF__HELLO_FRAME, &lim), 0);
  ck_assert_uint_eq(lim.max_socks, HANDOFF_MAX_SOCKS);
  ck_assert_uint_eq(lim.max_data, HANDOFF_MAX_DATA);
  ck_assert_int_eq(handoff__handshake_parse(b, HANDOFF__HELLO_FRAME - 1, &lim), HANDOFF_EPROTO);
  b[4] = 2; /* another version */
  ck_assert_int_eq(handoff__handshake_parse(b, HANDOFF__HELLO_FRAME, &lim), HANDOFF_EPROTO);
  handoff__refuse_encode(b, HANDOFF_EACCES);
  ck_assert_int_eq(handoff__handshake_parse(b, HANDOFF__REFUSE_FRAME, &lim), HANDOFF_EACCES);
  handoff__put_u32(b + 16, 1000); /* a reason we do not know */
  ck_assert_int_eq(handoff__handshake_parse(b, HANDOFF__REFUSE_FRAME, &lim), HANDOFF_EACCES);
  handoff__hdr_encode(b, HANDOFF__T_DATA, 0, 0);
  ck_assert_int_eq(handoff__handshake_parse(b, 16, &lim), HANDOFF_EPROTO);
}
END_TEST

START_TEST(test_name_rules) {
  ck_assert_int_eq(handoff__check_name("a"), 0);
  ck_assert_int_eq(handoff__check_name("web-1.sock_x"), 0);
  ck_assert_int_eq(handoff__check_name(".a"), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff__check_name("a/b"), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff__check_name(""), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff__check_name(NULL), HANDOFF_EINVAL);
}
END_TEST

START_TEST(test_every_error_code_has_a_name_and_a_message) {
  int e;
  for (e = -1; e >= HANDOFF_ERR_MIN_; e--) {
    ck_assert_str_ne(handoff_strerror(e), "unknown error");
    ck_assert(strncmp(handoff_err_name(e), "HANDOFF_E", 9) == 0);
  }
  ck_assert_str_eq(handoff_err_name(HANDOFF_ETRUNC), "HANDOFF_ETRUNC");
  ck_assert_str_eq(handoff_strerror(0), "success");
  ck_assert_str_eq(handoff_strerror(-999), "unknown error");
  ck_assert_str_eq(handoff_err_name(5), "HANDOFF_UNKNOWN");
  ck_assert_uint_eq(handoff_version(), HANDOFF_VERSION_HEX);
}
END_TEST

Suite *frame_suite(void) {
  Suite *s = suite_create("frame");
  TCase *t = tcase_create("frame");
  tcase_add_test(t, test_header_encodes_little_endian_with_magic_and_version);
  tcase_add_test(t, test_header_decode_rejects_garbage);
  tcase_add_test(t, test_header_decode_enforces_limits_per_type);
  tcase_add_test(t, test_frame_length_must_match_header_exactly);
  tcase_add_test(t, test_handshake_accepts_hello_maps_refuse_rejects_rest);
  tcase_add_test(t, test_name_rules);
  tcase_add_test(t, test_every_error_code_has_a_name_and_a_message);
  suite_add_tcase(s, t);
  return s;
}
