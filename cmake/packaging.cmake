# Installation rules and the two Debian packages (CPack DEB): segue-kiosk and segue-hq.
# scripts/package builds both from the build tree; deploy/ holds the units, the default
# configuration and the maintainer scripts.
set(SEGUE_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)

# Debian's documentation files: a gzip -9n changelog and the copyright, per package.
function(segue_package_docs component name)
  set(SEGUE_DEB_NAME ${name})
  set(dir ${CMAKE_BINARY_DIR}/deb-docs/${name})
  configure_file(${SEGUE_DEPLOY}/changelog.in ${dir}/changelog @ONLY)
  execute_process(COMMAND gzip -9nf ${dir}/changelog RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip of ${dir}/changelog failed")
  endif()
  install(FILES ${dir}/changelog.gz ${SEGUE_DEPLOY}/copyright
          DESTINATION share/doc/${name} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
          COMPONENT ${component})
endfunction()

set(SEGUE_CONF_PERMS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)   # postinst sets owner and final mode
set(SEGUE_DOC_PERMS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(SEGUE_COMPONENTS)

if(TARGET segue-kiosk)
  install(TARGETS segue-kiosk RUNTIME DESTINATION bin COMPONENT kiosk)
  install(FILES ${SEGUE_DEPLOY}/kiosk/segue-kiosk.service DESTINATION /lib/systemd/system
          PERMISSIONS ${SEGUE_DOC_PERMS} COMPONENT kiosk)
  install(FILES ${SEGUE_DEPLOY}/kiosk/kiosk.toml DESTINATION /etc/segue PERMISSIONS ${SEGUE_CONF_PERMS}
          COMPONENT kiosk)
  install(FILES ${SEGUE_DEPLOY}/kiosk/pam-segue-kiosk DESTINATION /etc/pam.d RENAME segue-kiosk
          PERMISSIONS ${SEGUE_DOC_PERMS} COMPONENT kiosk)
  install(FILES ${SEGUE_DEPLOY}/kiosk/README.Debian DESTINATION share/doc/segue-kiosk
          PERMISSIONS ${SEGUE_DOC_PERMS} COMPONENT kiosk)
  segue_package_docs(kiosk segue-kiosk)
  list(APPEND SEGUE_COMPONENTS kiosk)
endif()

if(TARGET segue-hq)
  install(TARGETS segue-hq RUNTIME DESTINATION bin COMPONENT hq)
  install(FILES ${SEGUE_DEPLOY}/hq/segue-hq.service DESTINATION /lib/systemd/system
          PERMISSIONS ${SEGUE_DOC_PERMS} COMPONENT hq)
  install(FILES ${SEGUE_DEPLOY}/hq/hq.env ${SEGUE_DEPLOY}/hq/hq.toml DESTINATION /etc/segue
          PERMISSIONS ${SEGUE_CONF_PERMS} COMPONENT hq)
  install(FILES ${SEGUE_DEPLOY}/hq/README.Debian DESTINATION share/doc/segue-hq
          PERMISSIONS ${SEGUE_DOC_PERMS} COMPONENT hq)
  segue_package_docs(hq segue-hq)
  list(APPEND SEGUE_COMPONENTS hq)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME segue)
set(CPACK_PACKAGE_VENDOR "SEGUE Kiosk team")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "SEGUE Kiosk Engineering <eng@segue-kiosk.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${SEGUE_COMPONENTS})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)                  # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)                   # library dependencies from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://segue-kiosk.example/")

set(CPACK_DEBIAN_KIOSK_PACKAGE_NAME segue-kiosk)
set(CPACK_DEBIAN_KIOSK_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_KIOSK_PACKAGE_DEPENDS "adduser, cage, xwayland, fonts-noto-cjk, tzdata, libgl1-mesa-dri, libegl-mesa0, init-system-helpers (>= 1.52)")
set(CPACK_COMPONENT_KIOSK_DESCRIPTION "offline-first customer-feedback terminal under cage
segue-kiosk shows a star rating and the five-item SEGUE scale on a touch
screen, commits every answer to SQLite before it thanks the customer, and
sends batches to segue-hq over verified HTTPS whenever a connection exists.
The package runs it like firmware: cage on tty1, full screen, restarted
after a crash, with a systemd watchdog.")
set(CPACK_DEBIAN_KIOSK_PACKAGE_CONTROL_EXTRA
    ${SEGUE_DEPLOY}/kiosk/conffiles ${SEGUE_DEPLOY}/kiosk/postinst ${SEGUE_DEPLOY}/kiosk/prerm
    ${SEGUE_DEPLOY}/kiosk/postrm)

set(CPACK_DEBIAN_HQ_PACKAGE_NAME segue-hq)
set(CPACK_DEBIAN_HQ_PACKAGE_SECTION net)
set(CPACK_DEBIAN_HQ_PACKAGE_DEPENDS "adduser, openssl, init-system-helpers (>= 1.52)")
set(CPACK_COMPONENT_HQ_DESCRIPTION "collector for SEGUE feedback terminals (HTTPS API, dashboard)
segue-hq receives the terminals' batches over HTTPS exactly once, stores
them in SQLite or PostgreSQL, and serves reports, CSV exports, alerts and a
dashboard. The package runs it as a hardened systemd service with a
watchdog.")
set(CPACK_DEBIAN_HQ_PACKAGE_CONTROL_EXTRA
    ${SEGUE_DEPLOY}/hq/conffiles ${SEGUE_DEPLOY}/hq/postinst ${SEGUE_DEPLOY}/hq/prerm
    ${SEGUE_DEPLOY}/hq/postrm)

include(CPack)
