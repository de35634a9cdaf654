// The LDAP tests' slapd is the bench's (bench/slapd.ts): a generated slapd.conf and LDIF in a temp folder.
export { LDAP_ADMIN, LDAP_PEOPLE, LDAP_SERVICE, LDAP_SUFFIX, type LdapUser, sha512Crypt, ssha, TestSlapd } from '../../bench/slapd.js';
